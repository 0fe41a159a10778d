// Runs a wasm32-wasip1 program (e.g. a Rust test binary) under Node's WASI and exits with its
// status. Used by scripts/test-quant-cross.sh.
//
//   node scripts/wasi-test-runner.mjs path/to/tests.wasm [args...]
//
// The environment is passed through (RF_ISA, RUST_BACKTRACE, ...). No directories are
// preopened: the programs run here need no files. A trap (a Rust panic aborts on
// wasm32-wasip1) exits with status 101, as a failing native test binary does.
import { readFile } from 'node:fs/promises';
import { argv, env, exit } from 'node:process';
import { WASI } from 'node:wasi';

const [file, ...args] = argv.slice(2);
if (!file) {
  console.error('usage: node wasi-test-runner.mjs <program.wasm> [args...]');
  exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
let status;
try {
  status = wasi.start(instance);
} catch (err) {
  console.error(`${file}: ${err}`);
  status = 101;
}
exit(status);
