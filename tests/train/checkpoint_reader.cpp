// read_checkpoint / checkpoint_differences: a second, naive reader of the checkpoint format.
#include "checkpoint_reader.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "attnlab/util/sha256.h"

namespace attnlab::test {

namespace fs = std::filesystem;

namespace {

void flatten(torch::serialize::InputArchive& archive, const std::string& prefix,
             CheckpointContents& out) {
  for (const auto& key : archive.keys()) {
    const std::string name = prefix + key;
    torch::serialize::InputArchive nested;
    if (archive.try_read(key, nested)) {
      flatten(nested, name + "/", out);
      continue;
    }
    torch::Tensor t;
    if (archive.try_read(key, t, /*is_buffer=*/true) || archive.try_read(key, t)) {
      out.tensors[name] = t;
      continue;
    }
    c10::IValue v;
    archive.read(key, v);
    std::ostringstream text;
    text << v;
    out.values[name] = text.str();
  }
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// LibTorch 1.13 keys AdamW's per-parameter state by the parameter's address in the process
// that saved it ("optimizer/state/0x55c9.../exp_avg"); param_groups/<g>/params/<i> lists those
// addresses in parameter order. Renames every address to its position, "g<g>p<i>", so two
// processes' checkpoints compare entry by entry.
void canonicalize_optimizer_keys(CheckpointContents& c) {
  static const std::regex param_key(R"(^optimizer/param_groups/param_groups/(\d+)/params/(\d+)$)");
  std::map<std::string, std::string> canonical;  // address -> g<g>p<i>
  for (auto& [name, value] : c.values) {
    std::smatch m;
    if (!std::regex_match(name, m, param_key)) continue;
    std::string address;
    for (char ch : value) {
      if (std::isalnum(static_cast<unsigned char>(ch))) address += ch;
    }
    value = "g" + m[1].str() + "p" + m[2].str();
    canonical[address] = value;
  }
  auto rename = [&](auto& entries) {
    std::remove_reference_t<decltype(entries)> out;
    for (auto& [name, entry] : entries) {
      std::string key = name;
      const std::string prefix = "optimizer/state/";
      if (key.rfind(prefix, 0) == 0) {
        const auto slash = key.find('/', prefix.size());
        const auto address = key.substr(prefix.size(), slash - prefix.size());
        if (auto it = canonical.find(address); it != canonical.end()) {
          key = prefix + it->second + (slash == std::string::npos ? "" : key.substr(slash));
        }
      }
      out[key] = entry;
    }
    entries = std::move(out);
  };
  rename(c.tensors);
  rename(c.values);
}

bool ignored(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (name.rfind(p, 0) == 0) return true;
  }
  return false;
}

}  // namespace

CheckpointContents read_checkpoint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kHeader = 8 + 4 + 8 + 32;
  if (bytes.size() < kHeader || bytes.compare(0, 8, "ATTNCKPT") != 0) {
    throw std::runtime_error(path.string() + ": no ATTNCKPT header");
  }
  uint32_t version = 0;
  uint64_t size = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&size, bytes.data() + 12, 8);
  if (version != 1) throw std::runtime_error(path.string() + ": format " + std::to_string(version));
  if (bytes.size() != kHeader + size) throw std::runtime_error(path.string() + ": wrong length");
  CheckpointContents c;
  c.payload = bytes.substr(kHeader);
  if (util::sha256_hex(c.payload.data(), c.payload.size()) != hex(bytes.substr(20, 32))) {
    throw std::runtime_error(path.string() + ": SHA-256 mismatch");
  }
  torch::serialize::InputArchive archive;
  archive.load_from(c.payload.data(), c.payload.size());
  flatten(archive, "", c);
  canonicalize_optimizer_keys(c);
  return c;
}

std::string checkpoint_differences(const CheckpointContents& a, const CheckpointContents& b,
                                   const std::vector<std::string>& ignore_prefixes) {
  std::string diff;
  for (const auto& [name, ta] : a.tensors) {
    if (ignored(name, ignore_prefixes)) continue;
    auto it = b.tensors.find(name);
    if (it == b.tensors.end()) {
      diff += name + ": only in the first\n";
    } else if (ta.scalar_type() != it->second.scalar_type() || !ta.sizes().equals(it->second.sizes()) ||
               !torch::equal(ta, it->second)) {
      diff += name + ": differs\n";
    }
  }
  for (const auto& [name, tb] : b.tensors) {
    if (!ignored(name, ignore_prefixes) && !a.tensors.count(name)) diff += name + ": only in the second\n";
  }
  for (const auto& [name, va] : a.values) {
    if (ignored(name, ignore_prefixes)) continue;
    auto it = b.values.find(name);
    if (it == b.values.end() || it->second != va) diff += name + ": value differs\n";
  }
  for (const auto& [name, vb] : b.values) {
    if (!ignored(name, ignore_prefixes) && !a.values.count(name)) diff += name + ": only in the second\n";
  }
  return diff;
}

size_t count_with_prefix(const CheckpointContents& c, const std::string& prefix) {
  size_t n = 0;
  for (const auto& entry : c.tensors) n += entry.first.rfind(prefix, 0) == 0;
  return n;
}

std::string checkpoint_meta_json(const CheckpointContents& c) {
  const auto& t = c.tensors.at("meta.json");
  auto bytes = t.contiguous();
  return std::string(static_cast<const char*>(bytes.data_ptr()), bytes.numel());
}

}  // namespace attnlab::test
