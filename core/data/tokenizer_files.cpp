// Reading tokenizer files into a TokenizerSpec: GPT-2's encoder.json + vocab.bpe, Hugging
// Face's tokenizer.json, and vocab.json + merges.txt (+ tokenizer_config.json). Every
// unsupported or malformed file is a DataError naming the file and what is wrong.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "byte_level.h"
#include "tokenizer_impl.h"

namespace attnlab::data {

namespace {

using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw DataError("cannot read tokenizer file '" + path + "': " + std::strerror(errno));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

json parse_json(const std::string& path, const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw DataError("tokenizer file '" + path + "' is not valid JSON: " + e.what());
  }
}

// FNV-1a over the files, in order: a cheap fingerprint recorded in shard manifests.
struct Fingerprint {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(const std::string& bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  }
  std::string str() const {
    std::ostringstream s;
    s << "fnv1a64:" << std::hex << std::setw(16) << std::setfill('0') << h;
    return s.str();
  }
};

BpeModel::Vocab read_vocab_object(const json& obj, const std::string& path) {
  if (!obj.is_object()) throw DataError("'" + path + "': the vocabulary is not a JSON object");
  BpeModel::Vocab vocab;
  vocab.reserve(obj.size());
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!it.value().is_number_integer())
      throw DataError("'" + path + "': token '" + it.key() + "' has a non-integer id");
    vocab.emplace(byte_level::to_bytes(it.key(), "'" + path + "'"), it.value().get<int32_t>());
  }
  return vocab;
}

std::pair<std::string, std::string> split_merge_line(const std::string& line,
                                                     const std::string& where) {
  const size_t sp = line.find(' ');
  if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() ||
      line.find(' ', sp + 1) != std::string::npos)
    throw DataError(where + ": expected two tokens separated by one space, got '" + line + "'");
  return {byte_level::to_bytes(line.substr(0, sp), where),
          byte_level::to_bytes(line.substr(sp + 1), where)};
}

BpeModel::Merges read_merges_txt(const std::string& path, const std::string& text) {
  BpeModel::Merges merges;
  std::istringstream in(text);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (lineno == 1 && line.rfind("#version", 0) == 0)) continue;
    merges.push_back(split_merge_line(line, path + ":" + std::to_string(lineno)));
  }
  return merges;
}

void add_eot_if_in_vocab(TokenizerSpec& spec) {
  for (const auto& a : spec.added)
    if (a.content == "<|endoftext|>") return;
  auto it = spec.vocab.find("<|endoftext|>");
  if (it == spec.vocab.end()) return;
  spec.added.push_back({it->first, it->second, true});
  spec.vocab.erase(it);
}

// The split regex of a tokenizer.json pre_tokenizer we support: ByteLevel with its own
// (GPT-2) regex, or a Split(regex, Isolated) followed by ByteLevel without regex.
std::string split_pattern_of(const json& pre, const std::string& path) {
  const auto unsupported = [&](const std::string& what) {
    return DataError("'" + path + "': unsupported pre_tokenizer (" + what +
                     "); supported: ByteLevel, or Sequence[Split(Regex, Isolated), ByteLevel]");
  };
  if (!pre.is_object()) throw unsupported("missing");
  const std::string type = pre.value("type", "");
  if (type == "ByteLevel") {
    if (!pre.value("use_regex", true)) throw unsupported("ByteLevel without a regex");
    if (pre.value("add_prefix_space", false)) throw unsupported("add_prefix_space");
    return kGpt2SplitPattern;
  }
  if (type != "Sequence" || !pre.contains("pretokenizers")) throw unsupported(type);
  const json& seq = pre["pretokenizers"];
  if (seq.size() != 2) throw unsupported("a Sequence of " + std::to_string(seq.size()));
  const json& split = seq[0];
  const json& byte_level = seq[1];
  if (split.value("type", "") != "Split" || !split.contains("pattern") ||
      !split["pattern"].contains("Regex") || split.value("behavior", "") != "Isolated" ||
      split.value("invert", false))
    throw unsupported("first step is not Split(Regex, Isolated)");
  if (byte_level.value("type", "") != "ByteLevel" || byte_level.value("use_regex", true) ||
      byte_level.value("add_prefix_space", false))
    throw unsupported("second step is not ByteLevel(use_regex=false)");
  return split["pattern"]["Regex"].get<std::string>();
}

}  // namespace

TokenizerSpec read_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe) {
  TokenizerSpec spec;
  spec.name = encoder_json;
  const std::string enc_text = read_file(encoder_json), bpe_text = read_file(vocab_bpe);
  Fingerprint fp;
  fp.add(enc_text);
  fp.add(bpe_text);
  spec.hash = fp.str();
  spec.vocab = read_vocab_object(parse_json(encoder_json, enc_text), encoder_json);
  spec.merges = read_merges_txt(vocab_bpe, bpe_text);
  spec.split_pattern = kGpt2SplitPattern;
  spec.ignore_merges = true;  // tiktoken (the reference GPT-2 encoder) looks whole pieces up first
  add_eot_if_in_vocab(spec);
  return spec;
}

TokenizerSpec read_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                const std::string& tokenizer_config_json) {
  TokenizerSpec spec;
  spec.name = vocab_json;
  const std::string vocab_text = read_file(vocab_json), merges_text = read_file(merges_txt);
  Fingerprint fp;
  fp.add(vocab_text);
  fp.add(merges_text);
  spec.vocab = read_vocab_object(parse_json(vocab_json, vocab_text), vocab_json);
  spec.merges = read_merges_txt(merges_txt, merges_text);
  spec.split_pattern = kQwenSplitPattern;
  spec.nfc = true;
  if (!tokenizer_config_json.empty()) {
    const std::string cfg_text = read_file(tokenizer_config_json);
    fp.add(cfg_text);
    const json cfg = parse_json(tokenizer_config_json, cfg_text);
    if (cfg.contains("added_tokens_decoder")) {
      for (auto it = cfg["added_tokens_decoder"].begin(); it != cfg["added_tokens_decoder"].end();
           ++it) {
        const json& t = it.value();
        try {
          spec.added.push_back(
              {t.at("content").get<std::string>(), std::stoi(it.key()), t.value("special", true)});
        } catch (const std::exception& e) {
          throw DataError("'" + tokenizer_config_json + "': added token '" + it.key() +
                          "' is malformed: " + e.what());
        }
      }
    }
  }
  spec.hash = fp.str();
  add_eot_if_in_vocab(spec);
  return spec;
}

TokenizerSpec read_tokenizer_json(const std::string& path) {
  TokenizerSpec spec;
  spec.name = path;
  const std::string text = read_file(path);
  Fingerprint fp;
  fp.add(text);
  spec.hash = fp.str();
  const json root = parse_json(path, text);
  try {
    const json& model = root.at("model");
    if (model.value("type", "BPE") != "BPE")
      throw DataError("'" + path + "': model type '" + model.value("type", "") +
                      "' is not supported (only byte-level BPE)");
    if (model.value("byte_fallback", false) ||
        !model.value("continuing_subword_prefix", "").empty() ||
        !model.value("end_of_word_suffix", "").empty())
      throw DataError("'" + path +
                      "': BPE options byte_fallback / continuing_subword_prefix / "
                      "end_of_word_suffix are not supported");
    spec.vocab = read_vocab_object(model.at("vocab"), path);
    spec.ignore_merges = model.value("ignore_merges", false);
    int rank = 0;
    for (const json& m : model.at("merges")) {
      const std::string where = "'" + path + "' merge " + std::to_string(++rank);
      if (m.is_string()) {
        spec.merges.push_back(split_merge_line(m.get<std::string>(), where));
      } else if (m.is_array() && m.size() == 2) {
        spec.merges.emplace_back(byte_level::to_bytes(m[0].get<std::string>(), where),
                                 byte_level::to_bytes(m[1].get<std::string>(), where));
      } else {
        throw DataError(where + ": expected \"a b\" or [\"a\", \"b\"]");
      }
    }
    const json& norm = root.value("normalizer", json());
    if (!norm.is_null()) {
      if (norm.value("type", "") != "NFC")
        throw DataError("'" + path + "': normalizer '" + norm.dump() +
                        "' is not supported (only NFC or none)");
      spec.nfc = true;
    }
    spec.split_pattern = split_pattern_of(root.value("pre_tokenizer", json()), path);
    for (const json& t : root.value("added_tokens", json::array()))
      spec.added.push_back({t.at("content").get<std::string>(), t.at("id").get<int32_t>(),
                            t.value("special", true)});
  } catch (const json::exception& e) {
    throw DataError("'" + path + "': unexpected tokenizer.json layout: " + e.what());
  }
  add_eot_if_in_vocab(spec);
  return spec;
}

}  // namespace attnlab::data
