// What a first visit gets: the model and strategy chosen by measured accuracy
// (docs/EVALUATION.md) and by what the device can hold, with the reason in words.

/** Models offered by default: served from assets/ next to the page (see scripts/serve.mjs). */
export const MODELS = {
  smollm2: {
    kind: 'gguf', name: 'SmolLM2-135M-Instruct.Q4_1.gguf', url: '/assets/SmolLM2-135M-Instruct.Q4_1.gguf',
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  },
  'qwen-coder': {
    kind: 'gguf', name: 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf', url: '/assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf',
    sha256: '1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32',
  },
};

/** Accuracy measured on MATH-500-100 (docs/EVALUATION.md), the basis of the default strategy. */
export const MEASURED = 'Qwen2.5-Coder-0.5B on MATH-500-100: direct chain-of-thought 18 %, template-guided 11 %';

/** Devices reporting less memory than this (navigator.deviceMemory, GB) get the small model. */
const MIN_DEVICE_GB_FOR_QWEN = 2;

/**
 * The default pick for this device: `{model, strategy, why}` with `model` a key of the page's
 * model list. `deviceMemoryGb` is `navigator.deviceMemory` (undefined where not reported).
 */
export function pickDefaults(caps, deviceMemoryGb) {
  const where = caps?.recommended_backend === 'webgpu' ? 'WebGPU' : 'the CPU (WebAssembly)';
  if (deviceMemoryGb !== undefined && deviceMemoryGb < MIN_DEVICE_GB_FOR_QWEN) {
    return {
      model: 'smollm2', strategy: 'direct',
      why: `This device reports ${deviceMemoryGb} GB of memory, too little for Qwen2.5-Coder-0.5B (a 491 MB download); picked SmolLM2-135M on ${where}, which only handles simple arithmetic.`,
    };
  }
  return {
    model: 'qwen-coder', strategy: 'direct',
    why: `Picked Qwen2.5-Coder-0.5B on ${where}: the strongest model measured here that fits this device, with direct chain-of-thought, its best strategy so far (${MEASURED}). SmolLM2 is the quick test.`,
  };
}
