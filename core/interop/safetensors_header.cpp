// The safetensors header: read and checked, or written; see safetensors_header.h.
#include "attnlab/interop/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

namespace attnlab::interop {

namespace {

using nlohmann::json;

const std::vector<std::pair<std::string, uint64_t>>& known_dtypes() {
  static const std::vector<std::pair<std::string, uint64_t>> dtypes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  return dtypes;
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw SafetensorsError(file + ": " + what +
                         " (not a valid safetensors file: write it again with `attnlab export` "
                         "or the safetensors library)");
}

[[noreturn]] void fail_tensor(const std::string& file, const std::string& name,
                              const std::string& what) {
  fail(file, "tensor '" + name + "': " + what);
}

uint64_t read_header_length(const std::string& file, std::istream& in, uint64_t file_size) {
  if (file_size < 8) {
    fail(file, "only " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");
  }
  unsigned char bytes[8];
  if (!in.read(reinterpret_cast<char*>(bytes), 8)) fail(file, "cannot read the header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeaderBytes) {
    fail(file, "header length " + std::to_string(n) + " is absurd (the limit is " +
                   std::to_string(kMaxHeaderBytes) + " bytes)");
  }
  if (n > file_size - 8) {
    fail(file, "header length " + std::to_string(n) + " runs past the end of the file (" +
                   std::to_string(file_size) + " bytes)");
  }
  return n;
}

// The header JSON; a key repeated in any object is an error (nlohmann's parser keeps one).
json parse_header_json(const std::string& file, const std::string& text) {
  std::vector<std::set<std::string>> keys_per_object;
  std::string top_key, repeated, repeated_in;
  const json::parser_callback_t watch = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys_per_object.emplace_back();
    if (event == json::parse_event_t::object_end) keys_per_object.pop_back();
    if (event != json::parse_event_t::key) return true;
    const auto key = parsed.get<std::string>();
    if (depth == 1) top_key = key;
    if (!keys_per_object.back().insert(key).second && repeated.empty()) {
      repeated = key;
      repeated_in = depth == 1 ? "" : top_key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, watch);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    fail(file, std::string("the header is not valid UTF-8 JSON: ") + e.what());
  }
  if (!repeated.empty() && repeated_in.empty()) fail_tensor(file, repeated, "listed twice");
  if (!repeated.empty()) fail_tensor(file, repeated_in, "key '" + repeated + "' repeated");
  if (!header.is_object()) fail(file, "the header is JSON but not an object");
  return header;
}

uint64_t checked_product(const std::string& file, const std::string& name, uint64_t a, uint64_t b) {
  if (b != 0 && a > std::numeric_limits<uint64_t>::max() / b) {
    fail_tensor(file, name, "its byte size overflows 64 bits");
  }
  return a * b;
}

std::vector<int64_t> parse_shape(const std::string& file, const std::string& name,
                                 const json& shape) {
  if (!shape.is_array()) fail_tensor(file, name, "\"shape\" is not an array");
  std::vector<int64_t> out;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned() ||
        d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
      fail_tensor(file, name, "shape entry " + d.dump() + " is not a non-negative integer");
    }
    out.push_back(d.get<int64_t>());
  }
  return out;
}

TensorEntry parse_entry(const std::string& file, const std::string& name, const json& v) {
  if (!v.is_object()) fail_tensor(file, name, "its entry is not an object");
  for (const auto& item : v.items()) {
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets") {
      fail_tensor(file, name, "unexpected key '" + item.key() + "'");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) fail_tensor(file, name, std::string("missing \"") + key + "\"");
  }
  TensorEntry e;
  e.name = name;
  if (!v["dtype"].is_string() || dtype_bytes(v["dtype"].get<std::string>()) == 0) {
    fail_tensor(file, name,
                "unknown dtype " + v["dtype"].dump() +
                    " (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
  }
  e.dtype = v["dtype"].get<std::string>();
  e.shape = parse_shape(file, name, v["shape"]);
  const auto& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail_tensor(
        file, name,
        "\"data_offsets\" " + offsets.dump() + " is not [begin, end] of non-negative integers");
  }
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.end < e.begin) fail_tensor(file, name, "data_offsets " + offsets.dump() + " run backwards");
  uint64_t bytes = dtype_bytes(e.dtype);
  for (const auto d : e.shape) bytes = checked_product(file, name, bytes, uint64_t(d));
  if (e.end - e.begin != bytes) {
    fail_tensor(file, name,
                "shape " + v["shape"].dump() + " of " + e.dtype + " needs " +
                    std::to_string(bytes) + " bytes but data_offsets " + offsets.dump() + " hold " +
                    std::to_string(e.end - e.begin));
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& file, const json& m) {
  if (!m.is_object()) fail(file, "\"__metadata__\" is not an object");
  std::map<std::string, std::string> out;
  for (const auto& item : m.items()) {
    if (!item.value().is_string())
      fail(file, "\"__metadata__\" value of '" + item.key() + "' is not a string");
    out[item.key()] = item.value().get<std::string>();
  }
  return out;
}

// The tensors, sorted by offset, must tile [0, data_bytes) exactly.
void check_tiling(const std::string& file, std::vector<TensorEntry>& tensors, uint64_t data_bytes) {
  const auto range = [](const TensorEntry& e) {
    return "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  };
  for (const auto& e : tensors) {
    if (e.end > data_bytes) {
      fail_tensor(file, e.name,
                  "data_offsets " + range(e) + " run past the data area of " +
                      std::to_string(data_bytes) + " bytes");
    }
  }
  std::sort(tensors.begin(), tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t at = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& e = tensors[i];
    if (e.begin < at) {
      fail_tensor(file, e.name,
                  "data_offsets " + range(e) + " overlap tensor '" + tensors[i - 1].name + "' " +
                      range(tensors[i - 1]));
    }
    if (e.begin > at) {
      fail_tensor(file, e.name,
                  "data_offsets " + range(e) + " leave a gap of " + std::to_string(e.begin - at) +
                      " bytes before it");
    }
    at = e.end;
  }
  if (at != data_bytes) {
    fail(file, std::to_string(data_bytes - at) +
                   " bytes after the last tensor's data (the "
                   "tensors must cover the data area exactly)");
  }
}

}  // namespace

uint64_t dtype_bytes(const std::string& dtype) {
  for (const auto& [name, bytes] : known_dtypes()) {
    if (name == dtype) return bytes;
  }
  return 0;
}

SafetensorsHeader read_safetensors_header(const std::string& file, std::istream& in,
                                          uint64_t file_size) {
  const uint64_t n = read_header_length(file, in, file_size);
  std::string text(n, '\0');
  if (!in.read(text.data(), std::streamsize(n))) fail(file, "cannot read the header");
  const json header = parse_header_json(file, text);
  SafetensorsHeader out;
  out.data_start = 8 + n;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      out.metadata = parse_metadata(file, item.value());
    } else {
      out.tensors.push_back(parse_entry(file, item.key(), item.value()));
    }
  }
  check_tiling(file, out.tensors, file_size - out.data_start);
  return out;
}

std::string write_safetensors_header(const std::vector<TensorEntry>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__" || header.contains(t.name)) {
      throw std::invalid_argument("write_safetensors_header: tensor name '" + t.name +
                                  "' is reserved or repeated");
    }
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace attnlab::interop
