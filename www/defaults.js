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

/**
 * The sentence encoder of dense template retrieval (all-MiniLM-L6-v2, `scripts/fetch-assets.sh
 * minilm`), fetched only when a page asks for `retriever=dense|hybrid|auto`; every file is
 * checked against its sha256 and cached like the model weights.
 */
export const ENCODER = {
  baseUrl: '/assets/all-MiniLM-L6-v2/',
  sha256: {
    'config.json': '953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41',
    'tokenizer.json': 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037',
    'sentence_bert_config.json': 'fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7',
    'model.safetensors': '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db',
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
