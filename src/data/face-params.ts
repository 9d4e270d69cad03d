// The parameters of a procedural face in either style (FaceStyle): who it is (identity: shape,
// skin, eyes, brows, nose, mouth, hair; the photographic style adds beard, glasses and skin
// texture) and how this picture of it was taken (nuisance: pose, lighting, expression,
// background; the photographic style adds shading, clutter, colour cast and lens blur), each
// drawn from a PRNG key by its style's table of draws.
import type { KeyWords } from '../kernels/params.js';
import type { PRNGKey } from '../index.js';
import { Draws } from './draws.js';

/**
 * Which generator: 'cartoon' (flat shapes, head and shoulders; what the committed SFT checkpoint,
 * the demo's synthetic set and the pinned tests use) or 'photo' (issue 16: FFHQ-aligned, shaded,
 * textured, with beards and glasses; docs/faces.md). Same identity ids and splits for both.
 */
export type FaceStyle = 'cartoon' | 'photo';
export const FACE_STYLES: readonly FaceStyle[] = ['cartoon', 'photo'];

export type Rgb = readonly [number, number, number];

/** Hair styles, from none to shoulder length. */
export type HairStyle = 'bald' | 'short' | 'medium' | 'long';

/**
 * Identity parameters every style draws (all the cartoon style has), in face coordinates: the
 * image spans [-1, 1] in u (right) and v (down) before the pose transform; lengths are in those units.
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

/** The photographic style's identity: the cartoon's, plus beard, glasses and skin texture. */
export interface FaceIdentity extends CartoonIdentity {
  /** Beard density (0 none .. 1 full), glasses (none, clear or dark lenses) and their frame colour. */
  readonly beard: number;
  readonly glasses: 'none' | 'clear' | 'dark';
  readonly glassesColor: Rgb;
  /** Skin texture (mottling, pores) strength, and the seed of this face's texture noise. */
  readonly skinTexture: number;
  readonly textureSeed: number;
}

/** Nuisance parameters every style draws: what changes between pictures of one identity. */
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

/** The photographic style's nuisance: the cartoon's, plus head shading, clutter, colour cast and blur. */
export interface FaceNuisance extends CartoonNuisance {
  /** Light elevation towards the camera (0 side-on .. 1 frontal) shading the head as a rounded surface. */
  readonly lightFrontal: number;
  /** Background clutter (blotches of colour) strength and its seed. */
  readonly clutter: number;
  readonly clutterSeed: number;
  /** White-balance cast (multipliers per channel) and lens blur (pixels at 64 px and below; scaled up with larger sizes). */
  readonly cast: Rgb;
  readonly blur: number;
}

export interface CartoonFaceParams {
  readonly identity: CartoonIdentity;
  readonly nuisance: CartoonNuisance;
}

export interface FaceParams {
  readonly identity: FaceIdentity;
  readonly nuisance: FaceNuisance;
}

/** Each style's parameters. */
export interface FaceParamsOf {
  readonly cartoon: CartoonFaceParams;
  readonly photo: FaceParams;
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
const RESERVED: { readonly [P in keyof FaceParams]: number } = { identity: 64, nuisance: 48 };

/**
 * A table of draws: each field's rule, listed in the order the style draws them. The order is
 * part of the data (a value depends on its position in the key's stream), so reordering rules,
 * or adding one before others, changes every face drawn after it. A rule reads the fields drawn
 * before it from `s`, and the scratch draws its table makes.
 */
type Rule<T, V> = (d: Draws, s: T & Scratch) => V;
type DrawRules<T> = { readonly [K in keyof T]: Rule<T, T[K]> } & {
  readonly [K in keyof Scratch]?: Rule<T, Scratch[K]>;
};

/** Draws that later rules read but the parameters do not keep. */
interface Scratch {
  /** The hair palette entry (grey hair gets dark brows). */
  readonly hairIndex: number;
  /** The photo nuisance's warm/cool shift of the background and the colour cast. */
  readonly warm: number;
}
const SCRATCH = new Set<string>(['hairIndex', 'warm']);

function drawAll<T>(rules: DrawRules<T>, d: Draws): T {
  const s: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries<Rule<T, unknown>>(rules)) s[field] = rule(d, s as T & Scratch);
  return Object.fromEntries(Object.entries(s).filter(([field]) => !SCRATCH.has(field))) as T;
}

const uniform =
  (lo: number, hi: number) =>
  (d: Draws): number =>
    d.range(lo, hi);
/** A length: another field times a uniform draw. */
const times =
  <K extends string>(field: K, lo: number, hi: number) =>
  (d: Draws, s: { readonly [F in K]: number }): number =>
    s[field] * d.range(lo, hi);

/** Head size, skin and hair colour: the first draws of every style. */
const HEAD = {
  faceWidth: uniform(0.4, 0.5),
  faceHeight: times('faceWidth', 1.18, 1.42),
  skin: (d: Draws): Rgb => jitter(d, skinTone(d.u()), 0.025),
  hairIndex: (d: Draws): number => d.weighted(HAIR_WEIGHTS),
  hairColor: (d: Draws, s: Pick<Scratch, 'hairIndex'>): Rgb => jitter(d, HAIR[s.hairIndex], 0.04),
};
const jawTaper = uniform(0.05, 0.45);
const irisColor = (d: Draws): Rgb => jitter(d, d.pick(IRIS), 0.04);
/** Brow shape and colour, after the brow's thickness and gap. */
const BROW = {
  browArch: uniform(0, 1),
  browTilt: uniform(-0.25, 0.35),
  browColor: (_: Draws, s: Pick<Scratch, 'hairIndex'> & { readonly hairColor: Rgb }): Rgb =>
    mixRgb(s.hairIndex === 5 ? HAIR[1] : s.hairColor, [0.05, 0.04, 0.04], 0.35),
};
const mouthCurve = uniform(-0.15, 0.35);
/** Hair style and shape, and the ears: the last draws every style shares. */
const HAIR_AND_EARS = {
  hairStyle: (d: Draws): HairStyle => STYLES[d.weighted(STYLE_WEIGHTS)],
  hairVolume: uniform(0.04, 0.13),
  hairline: uniform(0, 1),
  hairPart: uniform(-1, 1),
  earSize: times('faceHeight', 0.16, 0.22),
};

/** The cartoon identity (the generator before issue 16, kept so its faces keep their bytes). */
const CARTOON_IDENTITY: DrawRules<CartoonIdentity> = {
  ...HEAD,
  eyeSize: times('faceWidth', 0.19, 0.26),
  jawTaper,
  eyeSpacing: times('faceWidth', 0.36, 0.48),
  eyeY: times('faceHeight', -0.12, 0.02),
  eyeOpen: uniform(0.42, 0.62),
  irisColor,
  browThickness: times('eyeSize', 0.16, 0.34),
  browGap: times('eyeSize', 0.55, 0.95),
  ...BROW,
  noseY: times('faceHeight', 0.2, 0.34),
  noseWidth: times('faceWidth', 0.13, 0.2),
  mouthY: times('faceHeight', 0.48, 0.6),
  mouthWidth: times('faceWidth', 0.3, 0.45),
  upperLip: times('faceHeight', 0.025, 0.05),
  lowerLip: times('faceHeight', 0.035, 0.07),
  mouthCurve,
  lipColor: (d, s) => mixRgb(s.skin, [0.72, 0.25, 0.28], d.range(0.3, 0.55)),
  ...HAIR_AND_EARS,
};

/** The photographic identity: real proportions first, then the cartoon's features, beard, glasses, texture. */
const PHOTO_IDENTITY: DrawRules<FaceIdentity> = {
  ...HEAD,
  // Real proportions (face-stats.ts on the evaluation faces): eye width ~0.4 of the eye distance,
  // eyes to mouth ~1.0 eye distance, nose tip ~0.6 of the way down.
  eyeSpacing: times('faceWidth', 0.38, 0.46),
  eyeSize: (d, s) => 2 * s.eyeSpacing * d.range(0.18, 0.22),
  eyeY: times('faceHeight', -0.14, -0.02),
  mouthY: (d, s) => s.eyeY + 2 * s.eyeSpacing * d.range(0.9, 1.12),
  jawTaper,
  eyeOpen: uniform(0.3, 0.46),
  irisColor,
  browThickness: times('eyeSize', 0.22, 0.4),
  browGap: times('eyeSize', 0.45, 0.8),
  ...BROW,
  noseY: (d, s) => s.eyeY + (s.mouthY - s.eyeY) * d.range(0.55, 0.68),
  noseWidth: times('faceWidth', 0.15, 0.22),
  mouthWidth: times('faceWidth', 0.3, 0.42),
  upperLip: times('faceHeight', 0.02, 0.04),
  lowerLip: times('faceHeight', 0.03, 0.055),
  mouthCurve,
  lipColor: (d, s) => mixRgb(s.skin, [0.62, 0.28, 0.28], d.range(0.2, 0.45)),
  ...HAIR_AND_EARS,
  beard: (d) => (d.chance(0.2) ? d.range(0.3, 1) : 0),
  glasses: (d) => {
    const g = d.u();
    return g < 0.1 ? 'clear' : g < 0.14 ? 'dark' : 'none';
  },
  glassesColor: (d) => (d.chance(0.5) ? [0.05, 0.04, 0.04] : jitter(d, [0.55, 0.5, 0.45], 0.15)),
  skinTexture: uniform(0.03, 0.1),
  textureSeed: (d) => Math.floor(d.u() * 2 ** 30),
};

/** The nuisance ranges that differ between the styles (the photo crops are aligned like the evaluation set). */
interface NuisanceRanges {
  readonly shiftU: readonly [number, number];
  readonly shiftV: readonly [number, number];
  readonly rotation: readonly [number, number];
  readonly scale: readonly [number, number];
  readonly yaw: readonly [number, number];
  readonly lightStrength: readonly [number, number];
  readonly smile: readonly [number, number];
  /** The second background colour: a random colour times this tint, mixed in by a draw from this range. */
  readonly backgroundTint: Rgb;
  readonly backgroundMix: readonly [number, number];
}

/**
 * Each style's ranges. The photo style's pose ranges are small: its crops are aligned on eyes and
 * mouth like the evaluation set, so only the landmark detector's error remains.
 */
const NUISANCE_RANGES: { readonly [K in keyof NuisanceRanges]: Readonly<Record<FaceStyle, NuisanceRanges[K]>> } = {
  shiftU: { cartoon: [-0.06, 0.06], photo: [-0.03, 0.03] },
  shiftV: { cartoon: [-0.05, 0.05], photo: [-0.03, 0.03] },
  rotation: { cartoon: [-0.14, 0.14], photo: [-0.05, 0.05] },
  scale: { cartoon: [0.94, 1.06], photo: [0.95, 1.05] },
  yaw: { cartoon: [-0.35, 0.35], photo: [-0.5, 0.5] },
  lightStrength: { cartoon: [0, 0.25], photo: [0, 0.2] },
  smile: { cartoon: [-0.1, 0.5], photo: [-0.1, 0.6] },
  backgroundTint: { cartoon: [1, 1, 1], photo: [1, 0.9, 0.8] },
  backgroundMix: { cartoon: [0.1, 0.4], photo: [0.1, 0.5] },
};

/** A background colour: a base colour moved towards its grey by a draw from `mix`. */
function towardsGrey(d: Draws, base: Rgb, mix: readonly [number, number]): Rgb {
  const grey = (base[0] + base[1] + base[2]) / 3;
  return mixRgb(base, [grey, grey, grey], d.range(...mix));
}

/**
 * Pose, light, expression, the second background colour and clothing: the same draws in the same
 * order for every style, within the style's ranges (after the style's first background colour).
 */
const poseLightBackground = (style: FaceStyle): Omit<DrawRules<CartoonNuisance>, 'background0'> => ({
  shiftU: uniform(...NUISANCE_RANGES.shiftU[style]),
  shiftV: uniform(...NUISANCE_RANGES.shiftV[style]),
  rotation: uniform(...NUISANCE_RANGES.rotation[style]),
  scale: uniform(...NUISANCE_RANGES.scale[style]),
  yaw: uniform(...NUISANCE_RANGES.yaw[style]),
  ambient: uniform(0.85, 1.05),
  lightStrength: uniform(...NUISANCE_RANGES.lightStrength[style]),
  lightAngle: uniform(-Math.PI, Math.PI),
  smile: uniform(...NUISANCE_RANGES.smile[style]),
  mouthOpen: (d) => (d.chance(0.3) ? d.range(0.2, 1) : 0),
  browRaise: uniform(-0.3, 0.5),
  gazeU: uniform(-0.25, 0.25),
  gazeV: uniform(-0.15, 0.15),
  background1: (d, s) => {
    const tint = NUISANCE_RANGES.backgroundTint[style];
    return mixRgb(
      s.background0,
      [d.u() * tint[0], d.u() * tint[1], d.u() * tint[2]],
      d.range(...NUISANCE_RANGES.backgroundMix[style]),
    );
  },
  backgroundAngle: uniform(-Math.PI, Math.PI),
  clothing: (d) => [d.range(0.05, 0.85), d.range(0.05, 0.85), d.range(0.05, 0.85)],
});

const CARTOON_NUISANCE: DrawRules<CartoonNuisance> = {
  background0: (d) => towardsGrey(d, [d.range(0.15, 0.9), d.range(0.15, 0.9), d.range(0.15, 0.9)], [0.2, 0.7]),
  ...poseLightBackground('cartoon'),
};

const PHOTO_NUISANCE: DrawRules<FaceNuisance> = {
  // Real backgrounds are mostly darker and warmer than a random colour (face-stats.ts: B mean).
  background0: (d) => {
    const level = d.range(0.1, 0.85);
    return towardsGrey(
      d,
      [level * d.range(0.85, 1.2), level * d.range(0.8, 1.1), level * d.range(0.6, 1.05)],
      [0.1, 0.6],
    );
  },
  warm: uniform(-0.03, 0.1),
  ...poseLightBackground('photo'),
  lightFrontal: uniform(0.35, 0.95),
  clutter: uniform(0, 0.3),
  clutterSeed: (d) => Math.floor(d.u() * 2 ** 30),
  cast: (d, s) => [1 + s.warm + d.range(-0.03, 0.03), 1 + d.range(-0.03, 0.03), 1 - s.warm + d.range(-0.03, 0.03)],
  blur: uniform(0.3, 0.8),
};

/** The nuisance of a frontal, evenly lit, neutral picture on a grey background. */
const neutralCartoonNuisance: CartoonNuisance = Object.freeze({
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

/** The photographic style's neutral nuisance: the cartoon's, lit from the front, without clutter or cast. */
export const neutralNuisance: FaceNuisance = Object.freeze({
  ...neutralCartoonNuisance,
  lightFrontal: 1,
  clutter: 0,
  clutterSeed: 0,
  cast: [1, 1, 1] as Rgb,
  blur: 0.7,
});

/** Each style's tables of draws. */
type StyleDraws<S extends FaceStyle> = { readonly [P in keyof FaceParams]: DrawRules<FaceParamsOf[S][P]> };
const STYLE_DRAWS: { readonly [S in FaceStyle]: StyleDraws<S> } = {
  cartoon: { identity: CARTOON_IDENTITY, nuisance: CARTOON_NUISANCE },
  photo: { identity: PHOTO_IDENTITY, nuisance: PHOTO_NUISANCE },
};
const NEUTRAL_NUISANCE: { readonly [S in FaceStyle]: FaceParamsOf[S]['nuisance'] } = {
  cartoon: neutralCartoonNuisance,
  photo: neutralNuisance,
};

/** Draws an identity from its key (the same key always gives the same face); 'photo' by default. */
export function sampleIdentity(k: PRNGKey | KeyWords): FaceIdentity;
export function sampleIdentity<S extends FaceStyle>(k: PRNGKey | KeyWords, style: S): FaceParamsOf[S]['identity'];
export function sampleIdentity(k: PRNGKey | KeyWords, style: FaceStyle = 'photo'): CartoonIdentity {
  return drawStyle(style, 'identity', k);
}

/** Draws the nuisance of one picture from its key; 'photo' by default. */
export function sampleNuisance(k: PRNGKey | KeyWords): FaceNuisance;
export function sampleNuisance<S extends FaceStyle>(k: PRNGKey | KeyWords, style: S): FaceParamsOf[S]['nuisance'];
export function sampleNuisance(k: PRNGKey | KeyWords, style: FaceStyle = 'photo'): CartoonNuisance {
  return drawStyle(style, 'nuisance', k);
}

function drawStyle<S extends FaceStyle, P extends keyof FaceParams>(
  style: S,
  part: P,
  k: PRNGKey | KeyWords,
): FaceParamsOf[S][P] {
  const tables: StyleDraws<S> = STYLE_DRAWS[style];
  const rules: DrawRules<FaceParamsOf[S][P]> = tables[part];
  return drawAll(rules, new Draws(k, RESERVED[part], `sample ${style} ${part}`));
}

/**
 * A picture's parameters in a style: the identity from `idKey`, the nuisance from `nuKey`, or the
 * style's neutral nuisance (frontal, evenly lit, grey background) when `nuKey` is null.
 */
export function styleParams<S extends FaceStyle>(style: S, idKey: KeyWords, nuKey: KeyWords | null): FaceParamsOf[S] {
  const identity: FaceParamsOf[S]['identity'] = drawStyle(style, 'identity', idKey);
  const nuisance: FaceParamsOf[S]['nuisance'] = nuKey ? drawStyle(style, 'nuisance', nuKey) : NEUTRAL_NUISANCE[style];
  return { identity, nuisance } as FaceParamsOf[S];
}
