// attnlab data: tokenizers and shards for users and pipelines.
//   prepare     documents (JSONL/text) -> llm.c shards + manifest, on every core
//   inspect     a shard's header, token count, vocabulary range, first tokens decoded
//   tokenize    UTF-8 text on stdin -> token ids (to check what the model sees)
//   detokenize  token ids on stdin -> text
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attnlab/data/documents.h"
#include "attnlab/data/prepare.h"
#include "attnlab/data/shard.h"
#include "attnlab/data/tokenizer.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {

namespace {

using data::Tokenizer;

std::string default_tokenizer_dir() {
  if (const char* env = std::getenv("ATTNLAB_SHARED"); env && *env)
    return std::string(env) + "/tokenizers";
  return "../shared/tokenizers";
}

void add_tokenizer_options(po::options_description& o, const std::string& default_name) {
  o.add_options()("tokenizer", po::value<std::string>()->default_value(default_name),
                  "gpt2, qwen3 (folders under --tokenizer-dir) or a path to tokenizer files")(
      "tokenizer-dir", po::value<std::string>()->default_value(default_tokenizer_dir()),
      "folder of named tokenizers ($ATTNLAB_SHARED/tokenizers when set)");
}

Tokenizer load_tokenizer(const ParsedArgs& a) {
  return Tokenizer::load(a.vm["tokenizer"].as<std::string>(),
                         a.vm["tokenizer-dir"].as<std::string>());
}

// An integer option declared as a string: boost would read "-1" into an unsigned as 2^64-1 and
// accept any negative int, so every count is parsed here. Anything but a plain decimal number
// in lo .. hi is a UsageError naming the option, the value and the range.
uint64_t count_option(const ParsedArgs& a, const std::string& name, uint64_t lo, uint64_t hi,
                      const std::string& meaning = "") {
  const std::string v = a.vm[name].as<std::string>();
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
    throw UsageError("--" + name + " '" + v + "' is not a whole number " +
                     (hi == UINT64_MAX ? ">= " + std::to_string(lo)
                                       : "in " + std::to_string(lo) + " .. " + std::to_string(hi)) +
                     (meaning.empty() ? "" : " (" + meaning + ")"));
  return n;
}

std::string quoted(const std::string& bytes) {  // JSON string; invalid UTF-8 shown as U+FFFD
  return nlohmann::json(bytes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int data_prepare(const Args& args) {
  po::options_description o("attnlab data prepare");
  data::PrepareOptions p;
  o.add_options()("output-dir,o", po::value(&p.output_dir),
                  "folder for the shards and manifest (required)")(
      "name", po::value(&p.name)->default_value(p.name),
      "shard file prefix: NAME_val_000000.bin, NAME_train_000001.bin, ...")(
      "text-field", po::value(&p.text_field)->default_value(p.text_field),
      "JSONL field holding the document text")(
      "shard-tokens", po::value<std::string>()->default_value(std::to_string(p.shard_tokens)),
      "tokens per train shard")(
      "val-tokens", po::value<std::string>(),
      "tokens of the validation shard, written first (default: --shard-tokens; 0: none)")(
      "threads", po::value<std::string>()->default_value("0"),
      "tokenizer threads, at most 1024 (0: every core)")(
      "skip-bad-lines", po::bool_switch(&p.skip_bad_lines),
      "warn about and skip malformed JSONL lines instead of stopping")(
      "overwrite", po::bool_switch(&p.overwrite),
      "replace shards of NAME already in the output folder")("quiet,q", po::bool_switch(),
                                                             "no progress lines");
  add_tokenizer_options(o, "gpt2");
  auto a = parse_args("data prepare",
                      "[options] INPUT... (.jsonl .jsonl.gz .jsonl.zst .txt; globs allowed)", o,
                      args, "input");
  if (a.help) return 0;
  if (a.positional.empty()) throw UsageError("no INPUT files given (JSONL or text documents)");
  if (p.output_dir.empty()) throw UsageError("--output-dir is required (where the shards go)");
  p.inputs = a.positional;
  p.tokenizer = a.vm["tokenizer"].as<std::string>();
  p.tokenizer_dir = a.vm["tokenizer-dir"].as<std::string>();
  p.shard_tokens = count_option(a, "shard-tokens", 1, INT32_MAX, "the header's int32 count");
  p.val_tokens = a.vm.count("val-tokens")
                     ? count_option(a, "val-tokens", 0, INT32_MAX, "0: no validation shard")
                     : p.shard_tokens;
  p.threads = int(count_option(a, "threads", 0, data::kMaxPrepareThreads, "0: every core"));
  p.progress = !a.vm["quiet"].as<bool>();
  const auto r = data::prepare_shards(p);
  std::cout << "prepared " << r.documents << " documents, " << r.tokens << " tokens ("
            << r.text_bytes / 1e6 << " MB of text) in " << r.seconds << " s";
  if (r.skipped_lines) std::cout << ", " << r.skipped_lines << " malformed lines skipped";
  std::cout << "\n";
  for (const auto& s : r.shards)
    std::cout << "  " << s.path << "  " << s.split << "  " << s.tokens << " tokens\n";
  std::cout << "  " << r.manifest_path << "\n";
  return 0;
}

int data_inspect(const Args& args) {
  po::options_description o("attnlab data inspect");
  o.add_options()("show", po::value<std::string>()->default_value("32"),
                  "how many leading tokens to decode (0: none)");
  add_tokenizer_options(o, "auto");
  auto a = parse_args("data inspect", "[options] SHARD...", o, args, "shard");
  if (a.help) return 0;
  if (a.positional.empty()) throw UsageError("no SHARD given");
  const uint64_t show = count_option(a, "show", 0, UINT64_MAX);
  int status = 0;
  for (const auto& path : a.positional) {
    const data::MappedShard shard(path);
    std::string name = a.vm["tokenizer"].as<std::string>();
    if (name == "auto") name = shard.token_bytes() == 2 ? "gpt2" : "qwen3";
    const Tokenizer tok = Tokenizer::load(name, a.vm["tokenizer-dir"].as<std::string>());
    uint32_t lo = UINT32_MAX, hi = 0;
    uint64_t documents = 0, out_of_range = 0, first_bad = 0;
    for (uint64_t i = 0; i < shard.size(); ++i) {
      const uint32_t t = shard.at(i);
      lo = std::min(lo, t);
      hi = std::max(hi, t);
      documents += t == uint32_t(tok.eot_id());
      if (t >= tok.vocab_size() && out_of_range++ == 0) first_bad = i;
    }
    std::cout << path << "\n  header:     magic " << shard.magic() << ", version "
              << shard.version() << " (uint" << 8 * shard.token_bytes()
              << " tokens)\n  tokens:     " << shard.size() << "\n  documents:  " << documents
              << " (<|endoftext|> = " << tok.eot_id() << ")\n";
    if (shard.size()) std::cout << "  id range:   " << lo << " .. " << hi << "\n";
    if (out_of_range) {
      std::cout << "  vocabulary: ERROR: " << out_of_range << " token(s) >= " << tok.vocab_size()
                << " of tokenizer " << tok.name() << ", first at offset " << first_bad
                << " (wrong --tokenizer, or a corrupt shard)\n";
      status = 1;
      continue;
    }
    std::cout << "  vocabulary: OK, every id < " << tok.vocab_size() << " (" << tok.name() << ")\n";
    const size_t n = std::min<uint64_t>(show, shard.size());
    std::vector<int32_t> head(n);
    shard.copy(0, n, head.data());
    std::cout << "  first " << n << " ids:";
    for (int32_t t : head) std::cout << " " << t;
    std::cout << "\n  decoded:    " << quoted(tok.decode(head)) << "\n";
  }
  return status;
}

void print_ids(const std::vector<int32_t>& ids) {
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
}

std::vector<int32_t> parse_ids(const std::string& text, const std::string& where) {
  std::istringstream in(text);
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    const long v = std::strtol(word.c_str(), &end, 10);
    if (*end || v < INT32_MIN || v > INT32_MAX)
      throw data::DataError(where + ": '" + word +
                            "' is not a token id (expected integers separated by spaces)");
    ids.push_back(int32_t(v));
  }
  return ids;
}

int data_tokenize(const Args& args) {
  po::options_description o("attnlab data tokenize");
  o.add_options()("jsonl", po::bool_switch(),
                  "read one JSON object per line, print one id list per line")(
      "text-field", po::value<std::string>()->default_value("text"),
      "with --jsonl: the field holding the text")(
      "allow-special", po::bool_switch(),
      "recognise special tokens such as <|endoftext|> in the text");
  add_tokenizer_options(o, "gpt2");
  auto a =
      parse_args("data tokenize", "[options] < text   (prints space-separated token ids)", o, args);
  if (a.help) return 0;
  const Tokenizer tok = load_tokenizer(a);
  const bool special = a.vm["allow-special"].as<bool>();
  if (!a.vm["jsonl"].as<bool>()) {
    const std::string text((std::istreambuf_iterator<char>(std::cin)),
                           std::istreambuf_iterator<char>());
    print_ids(tok.encode(text, special));
    return 0;
  }
  data::Record rec;
  rec.source = "<stdin>";
  while (std::getline(std::cin, rec.raw)) {
    ++rec.line;
    if (rec.raw.find_first_not_of(" \t\r") == std::string::npos) continue;
    print_ids(tok.encode(data::parse_record(rec, a.vm["text-field"].as<std::string>()), special));
  }
  return 0;
}

int data_detokenize(const Args& args) {
  po::options_description o("attnlab data detokenize");
  o.add_options()("jsonl", po::bool_switch(),
                  "one id list per line in, one {\"text\": ...} line out");
  add_tokenizer_options(o, "gpt2");
  auto a = parse_args("data detokenize", "[options] < ids   (writes the text the ids stand for)", o,
                      args);
  if (a.help) return 0;
  const Tokenizer tok = load_tokenizer(a);
  if (!a.vm["jsonl"].as<bool>()) {
    const std::string text((std::istreambuf_iterator<char>(std::cin)),
                           std::istreambuf_iterator<char>());
    std::cout << tok.decode(parse_ids(text, "<stdin>"));
    return 0;
  }
  std::string line;
  for (uint64_t n = 1; std::getline(std::cin, line); ++n)
    std::cout << "{\"text\": "
              << quoted(tok.decode(parse_ids(line, "<stdin>:" + std::to_string(n)))) << "}\n";
  return 0;
}

// Output that did not reach stdout (a full disk, a failing device) is an error, not exit 0
// with a truncated result.
int flushed(int status) {
  if (!std::cout.flush())
    throw data::DataError(
        "cannot write to standard output (disk full or device error); the output is incomplete");
  return status;
}

struct Subcommand {
  const char* name;
  const char* summary;
  int (*fn)(const Args&);
};

const Subcommand kSubcommands[] = {
    {"prepare", "JSONL/text documents -> llm.c token shards + manifest (all cores)", data_prepare},
    {"inspect", "a shard's header, token count, id range check and first tokens decoded",
     data_inspect},
    {"tokenize", "UTF-8 text on stdin -> token ids (--jsonl: one list per line)", data_tokenize},
    {"detokenize", "token ids on stdin -> text (--jsonl: one {\"text\"} line per list)",
     data_detokenize},
};

}  // namespace

int cmd_data(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout
        << "usage: attnlab data <subcommand> [options]   (attnlab data <subcommand> --help)\n\n"
           "subcommands:\n";
    for (const auto& s : kSubcommands)
      std::cout << "  " << s.name << std::string(12 - std::string(s.name).size(), ' ') << s.summary
                << "\n";
    return args.empty() ? 2 : 0;
  }
  for (const auto& s : kSubcommands)
    if (args[0] == s.name) return flushed(s.fn(Args(args.begin() + 1, args.end())));
  throw UsageError("unknown subcommand '" + args[0] +
                   "'; expected prepare, inspect, tokenize or detokenize");
}

}  // namespace attnlab::cli
