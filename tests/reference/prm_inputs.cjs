// Independent reference for how each PRM kind's published scoring code builds its input, with
// transformers.js' tokenizer and chat template (the @lenml/tokenizers fork, pinned in
// tests/vocab/package-lock.json) standing in for Python's transformers tokenizer.
//
//   node prm_inputs.cjs MODEL_DIR CASES.json OUT.json
//
// MODEL_DIR holds tokenizer.json and tokenizer_config.json (with its chat_template). CASES.json:
// {"kind": ..., "system": ..., "cases": [{"problem": ..., "steps": [...]}, ...]}. OUT.json gets,
// per case, the sequences the published code runs through the model and the position read in
// each: {"sequences": [[ids...], ...], "positions": [[...], ...]}. Each kind follows its
// checkpoint's published example code line by line:
//  - reward_head (Qwen2.5-Math-PRM): system/user/assistant messages, the assistant's content the
//    steps joined by <extra_0> and ended by it; apply_chat_template(tokenize=False), then
//    tokenizer.encode (special tokens added); scores at every <extra_0>.
//  - value_head (Skywork-o1-Open-PRM, prepare_input): encode(bos_token + problem + "\n"), then each
//    step encoded and followed by encode(step_token)[-1]; scores at those.
//  - good_token (Math-Shepherd): encode(f"{question} {output}") with the output's steps each ended
//    by " ки" and joined by "\n"; scores at every encode("ки")[-1]; the pair encode("+ -")[1:].
//  - chat_turn (RLHFlow): for each k, the conversation of the first k steps as user turns (the
//    first prefixed by the question and a space), each answered "+", through apply_chat_template
//    (tokenized); the logits at position -3 of that conversation give step k's score.
//  - outcome_head (Qwen2.5-Math-RM): system/user/assistant messages, the assistant's content the
//    whole response (here the steps joined by "\n"); apply_chat_template(tokenize=False), then
//    tokenizer.encode(add_special_tokens=False); the reward at the last token.
"use strict";
const fs = require("fs");
const path = require("path");
const { TokenizerLoader } = require("@lenml/tokenizers");

const [dir, casesFile, outFile] = process.argv.slice(2);
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
});
const spec = JSON.parse(fs.readFileSync(casesFile, "utf8"));
const encode = (text) => Array.from(tokenizer.encode(text));
const last = (list) => list[list.length - 1];
const positionsOf = (ids, id) => ids.flatMap((x, i) => (x === id ? [i] : []));
const render = (messages) => tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: false,
  date_string: "26 Jul 2024" });

function rewardHead({ problem, steps }) {
  const stepToken = spec.step_token || "<extra_0>";
  const messages = [];
  if (spec.system) messages.push({ role: "system", content: spec.system });
  messages.push({ role: "user", content: problem });
  messages.push({ role: "assistant", content: steps.join(stepToken) + stepToken });
  const ids = encode(render(messages));
  return { sequences: [ids], positions: [positionsOf(ids, encode(stepToken)[0])] };
}

function valueHead({ problem, steps }) {
  const stepToken = spec.step_token || "\n";
  const ids = encode(tokenizer.bos_token + problem + "\n");
  const stepId = last(encode(stepToken));
  const positions = [];
  for (const step of steps) {
    ids.push(...encode(step));
    positions.push(ids.length);
    ids.push(stepId);
  }
  return { sequences: [ids], positions: [positions] };
}

function goodToken({ problem, steps }) {
  const tag = spec.step_token || "ки";
  const output = steps.map((s) => `${s} ${tag}`).join("\n");
  const ids = encode(`${problem} ${output}`);
  return { sequences: [ids], positions: [positionsOf(ids, last(encode(tag)))],
           good_bad: encode(`${spec.good_token || "+"} ${spec.bad_token || "-"}`).slice(1) };
}

function chatTurn({ problem, steps }) {
  const conversation = [];
  const sequences = [], positions = [];
  steps.forEach((step, k) => {
    conversation.push({ role: "user", content: k === 0 ? `${problem} ${step}` : step });
    conversation.push({ role: "assistant", content: spec.good_token || "+" });
    const ids = Array.from(tokenizer.apply_chat_template(conversation, { tokenize: true, return_tensor: false,
      add_generation_prompt: false, date_string: "26 Jul 2024" }));
    sequences.push(ids);
    positions.push([ids.length - 3]);
  });
  return { sequences, positions,
           good_bad: [last(encode(spec.good_token || "+")), last(encode(spec.bad_token || "-"))] };
}

function outcomeHead({ problem, steps }) {
  const messages = [];
  if (spec.system) messages.push({ role: "system", content: spec.system });
  messages.push({ role: "user", content: problem });
  messages.push({ role: "assistant", content: steps.join("\n") });
  const ids = Array.from(tokenizer.encode(render(messages), { add_special_tokens: false }));
  return { sequences: [ids], positions: [[ids.length - 1]] };
}

const build = { reward_head: rewardHead, value_head: valueHead, good_token: goodToken, chat_turn: chatTurn,
                outcome_head: outcomeHead }[spec.kind];
if (!build) throw new Error(`unknown kind ${spec.kind}`);
fs.writeFileSync(outFile, JSON.stringify(spec.cases.map(build)));
