// The peer: gpt-tokenizer's GPT-2 (r50k_base) encoder on the same documents, one thread
// (Node runs this on one thread). Prints one line in the format bench_tokenizer prints.
//   node bench_gpt_tokenizer.mjs DOCS.jsonl PASSES
import { readFileSync } from 'node:fs';
import { encode } from 'gpt-tokenizer/encoding/r50k_base';

const [file, passesArg] = process.argv.slice(2);
const passes = Number(passesArg ?? 5);
const texts = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l).text);
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);

function pass() {
  const t0 = process.hrtime.bigint();
  let tokens = 0;
  for (const t of texts) tokens += encode(t).length;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, tokens };
}

const first = pass();
let seconds = 0;
for (let i = 1; i < passes; i++) seconds += pass().seconds;
const steady = seconds / Math.max(1, passes - 1);
console.log(`gpt-tokenizer: docs ${texts.length} bytes ${bytes} tokens ${first.tokens} ` +
  `first_pass_MB/s ${(bytes / first.seconds / 1e6).toFixed(2)} ` +
  `MB/s ${(bytes / steady / 1e6).toFixed(2)} tokens/s ${(first.tokens / steady).toFixed(0)}`);
