// Spatial self-attention over an NCHW feature map (the DDPM/guided-diffusion AttentionBlock):
// GN -> q, k, v by one linear over channels -> softmax(Q K^T / sqrt(d)) V per head -> proj -> + x.
import { scope, add, attention, reshape, slice, squeeze, transpose } from '../../index.js';
import type { PRNGKey, Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import { groupNormApply, groupNormSpec, type GroupNormParams } from './group-norm.js';
import { initParams, type InitOptions, type SpecOf } from './init.js';
import { linearApply, linearSpec, type LinearParams } from './linear.js';

export interface AttentionConfig {
  readonly channels: number;
  /** Zero-initialise the output projection so the block starts as the identity (guided-diffusion); default true. */
  readonly zeroInit?: boolean;
}

export interface AttentionParams {
  readonly norm: GroupNormParams;
  /** Shape [3C, C]: rows 0..C-1 give q, C..2C-1 k, 2C..3C-1 v; within each, head h owns rows h d .. (h + 1) d - 1. */
  readonly qkv: LinearParams;
  /** [C, C] output projection. */
  readonly proj: LinearParams;
}

export function attentionSpec({ channels, zeroInit = true }: AttentionConfig): SpecOf<AttentionParams> {
  return {
    norm: groupNormSpec({ channels }),
    qkv: linearSpec({ inFeatures: channels, outFeatures: 3 * channels }),
    proj: linearSpec({ inFeatures: channels, outFeatures: channels, zeroInit }),
  };
}

/** Fresh attention-block params. */
export const attentionInit = (k: PRNGKey, config: AttentionConfig, options: InitOptions = {}): AttentionParams =>
  initParams<AttentionParams>(k, attentionSpec(config), options);

/**
 * x + proj(attention(GN(x))) over the H W positions: x [B, C, H, W] -> [B, C, H, W], with `heads`
 * heads of width d = C / heads and scores scaled by 1 / sqrt(d).
 */
export function attentionApply(
  p: AttentionParams,
  x: Tensor,
  { groups, heads = 1 }: { readonly groups: number; readonly heads?: number },
): Tensor {
  const op = 'attention';
  const c = p.proj.weight.shape[0];
  checkShape(
    x.rank === 4 && x.shape[1] === c,
    op,
    () => `x ${fmtShape(x.shape)} must be [B, ${c}, H, W] to match the block's ${c} channels.`,
  );
  checkShape(
    Number.isInteger(heads) && heads >= 1 && c % heads === 0,
    op,
    () => `heads = ${heads} must divide the ${c} channels.`,
  );
  const [b, , h, w] = x.shape;
  const n = h * w;
  const d = c / heads;
  return scope(() => {
    const tokens = transpose(reshape(groupNormApply(p.norm, x, { groups }), [b, c, n]), [0, 2, 1]); // [B, N, C]
    // [B, N, 3C] -> [3, B, heads, N, d]
    const qkv = transpose(reshape(linearApply(p.qkv, tokens), [b, n, 3, heads, d]), [2, 0, 3, 1, 4]);
    const part = (i: number) => squeeze(slice(qkv, [i, 0, 0, 0, 0], [i + 1, b, heads, n, d]), 0);
    const [q, k, v] = [part(0), part(1), part(2)];
    // softmax(Q K^T / sqrt(d)) V as one primitive: one kernel on the GPU (the tiny UNet's forward at
    // batch 8 about 0.97x the time of the four-kernel composition, docs/measurements.md), the
    // composition's derivatives.
    const weighted = attention(q, k, v, { scale: 1 / Math.sqrt(d) }); // [B, heads, N, d]
    const attended = reshape(transpose(weighted, [0, 2, 1, 3]), [b, n, c]); // [B, N, C]
    const out = transpose(linearApply(p.proj, attended), [0, 2, 1]); // [B, C, N]
    return add(x, reshape(out, [b, c, h, w]));
  });
}
