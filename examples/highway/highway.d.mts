import type { LayerDef } from '@weft/core';

export const highway: LayerDef<{ activation: 'tanh' | 'relu'; gateBias: number }>;
export const layers: LayerDef<any>[];
