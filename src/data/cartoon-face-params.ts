// The parameters of a CARTOON procedural face (the generator before issue 16, kept verbatim so
// the committed SFT checkpoint, the demo's synthetic set and the pinned tests keep their data):
// identity and nuisance, each drawn from a PRNG key. face-params.ts is the photographic one.
import type { KeyWords } from '../kernels/params.js';
import type { PRNGKey } from '../index.js';
import { Draws } from './draws.js';

import type { Rgb } from './face-params.js';

/** Hair styles, from none to shoulder length. */
export type HairStyle = 'bald' | 'short' | 'medium' | 'long';

/**
 * Identity parameters, in face coordinates: the image spans [-1, 1] in u (right) and v (down)
 * before the pose transform; lengths are in those units.
 */
export interface CartoonIdentity {
  /** Face ellipse half-width and half-height, and how much it narrows towards the chin (0..1). */
  readonly faceWidth: number;
  readonly faceHeight: number;
  readonly jawTaper: number;
  readonly skin: Rgb;
  /** Half the distance between the eye centres; eye height relative to the face centre. */
  readonly eyeSpacing: number;
  readonly eyeY: number;
  /** Eye half-width and height/width ratio. */
  readonly eyeSize: number;
  readonly eyeOpen: number;
  readonly irisColor: Rgb;
  readonly browThickness: number;
  /** Gap between eye and brow, and brow arch (0 flat .. 1 arched), brow tilt (outer end up > 0). */
  readonly browGap: number;
  readonly browArch: number;
  readonly browTilt: number;
  readonly browColor: Rgb;
  /** Nose tip height (relative to the face centre) and half-width. */
  readonly noseY: number;
  readonly noseWidth: number;
  /** Mouth height, half-width, lip thicknesses, resting curvature (smile > 0), lip colour. */
  readonly mouthY: number;
  readonly mouthWidth: number;
  readonly upperLip: number;
  readonly lowerLip: number;
  readonly mouthCurve: number;
  readonly lipColor: Rgb;
  readonly hairStyle: HairStyle;
  readonly hairColor: Rgb;
  /** Hair thickness around the skull, hairline height (0 low .. 1 high), side parting (-1..1). */
  readonly hairVolume: number;
  readonly hairline: number;
  readonly hairPart: number;
  readonly earSize: number;
}

/** Nuisance parameters: what changes between pictures of one identity. */
export interface CartoonNuisance {
  /** Translation (face units), in-plane rotation (radians), scale, and yaw (-1..1, shifts features sideways). */
  readonly shiftU: number;
  readonly shiftV: number;
  readonly rotation: number;
  readonly scale: number;
  readonly yaw: number;
  /** Light: ambient level, directional strength and direction (radians; 0 = from the right). */
  readonly ambient: number;
  readonly lightStrength: number;
  readonly lightAngle: number;
  /** Expression: added mouth curvature, mouth opening, brow raise; gaze offset. */
  readonly smile: number;
  readonly mouthOpen: number;
  readonly browRaise: number;
  readonly gazeU: number;
  readonly gazeV: number;
  /** Background: two colours blended along a direction; clothing colour. */
  readonly background0: Rgb;
  readonly background1: Rgb;
  readonly backgroundAngle: number;
  readonly clothing: Rgb;
}

export interface CartoonFaceParams {
  readonly identity: CartoonIdentity;
  readonly nuisance: CartoonNuisance;
}

const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
const mixRgb = (a: Rgb, b: Rgb, t: number): Rgb => [lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)];
const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const jitter = (d: Draws, c: Rgb, amount: number): Rgb => [
  clamp01(c[0] + d.range(-amount, amount)),
  clamp01(c[1] + d.range(-amount, amount)),
  clamp01(c[2] + d.range(-amount, amount)),
];

/** Skin tones from light to dark (sRGB), interpolated piecewise linearly. */
const SKIN: readonly Rgb[] = [
  [0.98, 0.85, 0.76],
  [0.93, 0.74, 0.61],
  [0.8, 0.58, 0.43],
  [0.6, 0.4, 0.27],
  [0.38, 0.24, 0.16],
];
const HAIR: readonly Rgb[] = [
  [0.07, 0.06, 0.06],
  [0.2, 0.13, 0.08],
  [0.36, 0.23, 0.13],
  [0.52, 0.24, 0.11],
  [0.82, 0.67, 0.42],
  [0.62, 0.61, 0.6],
];
const HAIR_WEIGHTS = [3, 3, 2, 1, 1.5, 0.7];
const IRIS: readonly Rgb[] = [
  [0.22, 0.13, 0.07],
  [0.38, 0.23, 0.1],
  [0.47, 0.4, 0.2],
  [0.28, 0.45, 0.3],
  [0.3, 0.5, 0.72],
  [0.48, 0.54, 0.6],
];
const STYLES: readonly HairStyle[] = ['bald', 'short', 'medium', 'long'];
const STYLE_WEIGHTS = [0.5, 4, 3, 3];

function skinTone(t: number): Rgb {
  const x = clamp01(t) * (SKIN.length - 1);
  const i = Math.min(SKIN.length - 2, Math.floor(x));
  return mixRgb(SKIN[i], SKIN[i + 1], x - i);
}

/** Numbers reserved per identity / nuisance draw (more than used, so fields can be added). */
const IDENTITY_DRAWS = 64;
const NUISANCE_DRAWS = 48;

/** Draws an identity from its key (the same key always gives the same face). */
export function sampleCartoonIdentity(k: PRNGKey | KeyWords): CartoonIdentity {
  const d = new Draws(k, IDENTITY_DRAWS, 'sampleCartoonIdentity');
  const faceWidth = d.range(0.4, 0.5);
  const faceHeight = faceWidth * d.range(1.18, 1.42);
  const skin = jitter(d, skinTone(d.u()), 0.025);
  const hairIndex = d.weighted(HAIR_WEIGHTS);
  const hairColor = jitter(d, HAIR[hairIndex], 0.04);
  const eyeSize = faceWidth * d.range(0.19, 0.26);
  return {
    faceWidth,
    faceHeight,
    jawTaper: d.range(0.05, 0.45),
    skin,
    eyeSpacing: faceWidth * d.range(0.36, 0.48),
    eyeY: faceHeight * d.range(-0.12, 0.02),
    eyeSize,
    eyeOpen: d.range(0.42, 0.62),
    irisColor: jitter(d, d.pick(IRIS), 0.04),
    browThickness: eyeSize * d.range(0.16, 0.34),
    browGap: eyeSize * d.range(0.55, 0.95),
    browArch: d.range(0, 1),
    browTilt: d.range(-0.25, 0.35),
    browColor: mixRgb(hairIndex === 5 ? HAIR[1] : hairColor, [0.05, 0.04, 0.04], 0.35),
    noseY: faceHeight * d.range(0.2, 0.34),
    noseWidth: faceWidth * d.range(0.13, 0.2),
    mouthY: faceHeight * d.range(0.48, 0.6),
    mouthWidth: faceWidth * d.range(0.3, 0.45),
    upperLip: faceHeight * d.range(0.025, 0.05),
    lowerLip: faceHeight * d.range(0.035, 0.07),
    mouthCurve: d.range(-0.15, 0.35),
    lipColor: mixRgb(skin, [0.72, 0.25, 0.28], d.range(0.3, 0.55)),
    hairStyle: STYLES[d.weighted(STYLE_WEIGHTS)],
    hairColor,
    hairVolume: d.range(0.04, 0.13),
    hairline: d.range(0, 1),
    hairPart: d.range(-1, 1),
    earSize: faceHeight * d.range(0.16, 0.22),
  };
}

/** Draws the nuisance of one picture from its key. */
export function sampleCartoonNuisance(k: PRNGKey | KeyWords): CartoonNuisance {
  const d = new Draws(k, NUISANCE_DRAWS, 'sampleCartoonNuisance');
  const bgBase: Rgb = [d.range(0.15, 0.9), d.range(0.15, 0.9), d.range(0.15, 0.9)];
  const grey = (bgBase[0] + bgBase[1] + bgBase[2]) / 3;
  const background0 = mixRgb(bgBase, [grey, grey, grey], d.range(0.2, 0.7));
  return {
    shiftU: d.range(-0.06, 0.06),
    shiftV: d.range(-0.05, 0.05),
    rotation: d.range(-0.14, 0.14),
    scale: d.range(0.94, 1.06),
    yaw: d.range(-0.35, 0.35),
    ambient: d.range(0.85, 1.05),
    lightStrength: d.range(0, 0.25),
    lightAngle: d.range(-Math.PI, Math.PI),
    smile: d.range(-0.1, 0.5),
    mouthOpen: d.chance(0.3) ? d.range(0.2, 1) : 0,
    browRaise: d.range(-0.3, 0.5),
    gazeU: d.range(-0.25, 0.25),
    gazeV: d.range(-0.15, 0.15),
    background0,
    background1: mixRgb(background0, [d.u(), d.u(), d.u()], d.range(0.1, 0.4)),
    backgroundAngle: d.range(-Math.PI, Math.PI),
    clothing: [d.range(0.05, 0.85), d.range(0.05, 0.85), d.range(0.05, 0.85)],
  };
}

/** The nuisance of a frontal, evenly lit, neutral picture on a grey background. */
export const neutralCartoonNuisance: CartoonNuisance = Object.freeze({
  shiftU: 0,
  shiftV: 0,
  rotation: 0,
  scale: 1,
  yaw: 0,
  ambient: 1,
  lightStrength: 0,
  lightAngle: 0,
  smile: 0,
  mouthOpen: 0,
  browRaise: 0,
  gazeU: 0,
  gazeV: 0,
  background0: [0.6, 0.6, 0.6] as Rgb,
  background1: [0.5, 0.5, 0.5] as Rgb,
  backgroundAngle: Math.PI / 2,
  clothing: [0.3, 0.35, 0.45] as Rgb,
});
