// Tokenizer: added-token splitting, NFC, pre-tokenization, cached BPE, decoding; and
// finding a tokenizer's files by name or path. See tokenizer.h.
#include "attnlab/data/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <unordered_map>

#include "tokenizer_impl.h"
#include "utf8.h"

namespace attnlab::data {

namespace fs = std::filesystem;

Tokenizer::Impl::Impl(TokenizerSpec spec)
    : name(std::move(spec.name)),
      hash(std::move(spec.hash)),
      bpe(std::move(spec.vocab), spec.merges, name),
      split(spec.split_pattern),
      nfc(spec.nfc),
      ignore_merges(spec.ignore_merges),
      added(std::move(spec.added)) {
  static std::atomic<uint64_t> next_uid{1};
  uid = next_uid++;
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
  int32_t max_id = -1;
  for (const auto& [bytes, id] : bpe.vocab()) max_id = std::max(max_id, id);
  for (const auto& a : added) max_id = std::max(max_id, a.id);
  id_bytes.resize(size_t(max_id) + 1);
  id_known.resize(size_t(max_id) + 1, false);
  for (const auto& [bytes, id] : bpe.vocab()) {
    if (id < 0) throw DataError(name + ": negative token id " + std::to_string(id));
    id_bytes[id] = bytes;
    id_known[id] = true;
  }
  for (const auto& a : added) {
    if (a.content.empty() || a.id < 0)
      throw DataError(name + ": added token " + std::to_string(a.id) + " is empty or negative");
    id_bytes[a.id] = a.content;
    id_known[a.id] = true;
    added_first_byte[static_cast<unsigned char>(a.content[0])] = true;
    if (a.content == "<|endoftext|>") eot = a.id;
  }
}

namespace {

// Per-thread cache of pre-token -> ids for the tokenizer last used on this thread.
struct PieceCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<int32_t>> map;
  static constexpr size_t kMaxEntries = 1 << 17;
  static constexpr size_t kMaxPieceBytes = 48;
};

void encode_piece(const Tokenizer::Impl& t, std::string_view piece, std::vector<int32_t>& out) {
  thread_local PieceCache cache;
  if (cache.owner != t.uid) {
    cache.map.clear();
    cache.owner = t.uid;
  }
  const bool cacheable = piece.size() <= PieceCache::kMaxPieceBytes;
  std::string key;
  if (cacheable) {
    key.assign(piece);
    auto it = cache.map.find(key);
    if (it != cache.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t before = out.size();
  auto whole = t.ignore_merges && piece.size() > 1
                   ? t.bpe.vocab().find(cacheable ? key : std::string(piece))
                   : t.bpe.vocab().end();
  if (whole != t.bpe.vocab().end())
    out.push_back(whole->second);
  else
    t.bpe.encode(piece, out);
  if (cacheable) {
    if (cache.map.size() >= PieceCache::kMaxEntries) cache.map.clear();
    cache.map.emplace(std::move(key), std::vector<int32_t>(out.begin() + before, out.end()));
  }
}

// Text without added tokens: valid UTF-8 runs are normalised and split; each byte of an
// ill-formed sequence becomes its own token.
void encode_ordinary(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out) {
  std::string nfc_buffer;
  while (!text.empty()) {
    const size_t valid = utf8::valid_prefix(text);
    if (valid > 0) {
      std::string_view run = text.substr(0, valid);
      if (t.nfc) run = utf8::nfc(run, nfc_buffer);
      t.split.split(run, [&](std::string_view piece) { encode_piece(t, piece, out); });
    }
    if (valid < text.size()) t.bpe.encode(text.substr(valid, 1), out);
    text.remove_prefix(std::min(text.size(), valid + 1));
  }
}

}  // namespace

void Tokenizer::encode_into(std::string_view text, std::vector<int32_t>& out,
                            bool allow_special) const {
  const Impl& t = *impl_;
  size_t start = 0;  // start of the text not yet encoded
  for (size_t i = 0; i < text.size(); ++i) {
    if (!t.added_first_byte[static_cast<unsigned char>(text[i])]) continue;
    for (const auto& a : t.added) {
      if ((a.special && !allow_special) || text.compare(i, a.content.size(), a.content) != 0)
        continue;
      encode_ordinary(t, text.substr(start, i - start), out);
      out.push_back(a.id);
      start = i + a.content.size();
      i = start - 1;
      break;
    }
  }
  encode_ordinary(t, text.substr(start), out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  encode_into(text, out, allow_special);
  return out;
}

std::string Tokenizer::decode(const int32_t* ids, size_t n) const {
  const Impl& t = *impl_;
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || size_t(ids[i]) >= t.id_bytes.size() || !t.id_known[ids[i]])
      throw DataError("token id " + std::to_string(ids[i]) + " (position " + std::to_string(i) +
                      ") is not in the vocabulary of " + t.name + " (ids 0.." +
                      std::to_string(t.id_bytes.size() - 1) + ")");
    out += t.id_bytes[ids[i]];
  }
  return out;
}

int32_t Tokenizer::eot_id() const {
  if (impl_->eot < 0)
    throw DataError("tokenizer " + impl_->name +
                    " has no <|endoftext|> token to separate documents");
  return impl_->eot;
}
uint32_t Tokenizer::vocab_size() const { return uint32_t(impl_->id_bytes.size()); }
const std::string& Tokenizer::name() const { return impl_->name; }
const std::string& Tokenizer::hash() const { return impl_->hash; }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }

Tokenizer Tokenizer::from_tokenizer_json(const std::string& path) {
  return Tokenizer(std::make_shared<const Impl>(read_tokenizer_json(path)));
}
Tokenizer Tokenizer::from_gpt2_files(const std::string& encoder_json,
                                     const std::string& vocab_bpe) {
  return Tokenizer(std::make_shared<const Impl>(read_gpt2_files(encoder_json, vocab_bpe)));
}
Tokenizer Tokenizer::from_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                       const std::string& tokenizer_config_json) {
  return Tokenizer(std::make_shared<const Impl>(
      read_vocab_merges(vocab_json, merges_txt, tokenizer_config_json)));
}

Tokenizer Tokenizer::load(const std::string& name_or_path, const std::string& tokenizer_dir) {
  fs::path p = name_or_path;
  const bool bare_name = name_or_path.find('/') == std::string::npos;
  if (bare_name && fs::is_directory(fs::path(tokenizer_dir) / name_or_path))
    p = fs::path(tokenizer_dir) / name_or_path;
  if (!fs::exists(p)) {
    std::string known;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(tokenizer_dir, ec))
      if (e.is_directory()) known += (known.empty() ? "" : ", ") + e.path().filename().string();
    throw DataError("tokenizer '" + name_or_path + "' is neither a folder under tokenizer_dir '" +
                    tokenizer_dir + "' (it has: " + (known.empty() ? "nothing" : known) +
                    ") nor a path to tokenizer files");
  }
  TokenizerSpec spec = [&] {
    if (fs::is_regular_file(p)) {
      if (p.filename() == "encoder.json")
        return read_gpt2_files(p.string(), (p.parent_path() / "vocab.bpe").string());
      return read_tokenizer_json(p.string());
    }
    if (fs::exists(p / "tokenizer.json"))
      return read_tokenizer_json((p / "tokenizer.json").string());
    if (fs::exists(p / "encoder.json"))
      return read_gpt2_files((p / "encoder.json").string(), (p / "vocab.bpe").string());
    if (fs::exists(p / "vocab.json")) {
      const fs::path cfg = p / "tokenizer_config.json";
      return read_vocab_merges((p / "vocab.json").string(), (p / "merges.txt").string(),
                               fs::exists(cfg) ? cfg.string() : "");
    }
    throw DataError(
        "tokenizer folder '" + p.string() +
        "' has none of tokenizer.json, encoder.json + vocab.bpe, vocab.json + merges.txt");
  }();
  if (bare_name) spec.name = name_or_path;
  return Tokenizer(std::make_shared<const Impl>(std::move(spec)));
}

}  // namespace attnlab::data
