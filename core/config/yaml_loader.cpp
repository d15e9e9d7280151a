// YAML file -> ConfigTree: pre-checks on the raw bytes, yaml-cpp parsing, then a walk that
// types scalars (core schema), records origins and rejects duplicate or malformed keys.
#include "yaml_loader.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "scalar.h"

namespace attnlab::config {

namespace {

Origin at_mark(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return origin_in(file);
  return origin_in(file, mark.line + 1, mark.column + 1);
}

// Line and column (1-based) of byte `offset`.
Origin at_offset(const std::string& file, const std::string& text, size_t offset) {
  int line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return origin_in(file, line, column);
}

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not valid UTF-8.
size_t utf8_length(const std::string& text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return 0;
  }
  return n;
}

void check_text(const std::string& file, const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') {
      throw ConfigError("", at_offset(file, text, i),
                        "binary file (NUL byte), not YAML text; check the path");
    }
    const size_t n = utf8_length(text, i);
    if (n == 0) {
      throw ConfigError("", at_offset(file, text, i),
                        "not UTF-8 text (binary file?); config files must be UTF-8 YAML");
    }
    i += n;
  }
  int line = 1;
  for (size_t start = 0; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    for (size_t i = start; i < end && (text[i] == ' ' || text[i] == '\t'); ++i) {
      if (text[i] == '\t') {
        throw ConfigError("", origin_in(file, line, static_cast<int>(i - start) + 1),
                          "tab character in indentation; YAML indents with spaces only");
      }
    }
    start = end + 1;
  }
}

class Converter {
 public:
  Converter(std::string file, Origins& origins) : file_(std::move(file)), origins_(origins) {}

  json convert(const YAML::Node& node, const std::string& key) {
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node, key);
      case YAML::NodeType::Sequence: {
        json list = json::array();
        for (const YAML::Node& element : node) {
          const std::string item = join_dotted(key, std::to_string(list.size()));
          origins_[item] = at_mark(file_, element.Mark());
          list.push_back(convert(element, item));
        }
        return list;
      }
      case YAML::NodeType::Map:
        return map(node, key);
    }
    return nullptr;
  }

 private:
  json scalar(const YAML::Node& node, const std::string& key) {
    const std::string& tag = node.Tag();
    if (tag == "?") return resolve_plain_scalar(node.Scalar());
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return node.Scalar();
    throw ConfigError(
        key, at_mark(file_, node.Mark()),
        "unsupported YAML tag '" + tag + "'; remove it (values are typed by how they are written)");
  }

  json map(const YAML::Node& node, const std::string& key) {
    json out = json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node k = it->first;  // copies: the iterator hands out a temporary pair
      const YAML::Node v = it->second;
      const Origin where = at_mark(file_, k.Mark());
      if (!k.IsScalar()) {
        throw ConfigError(key, where, "a key must be a plain name, not a list or map");
      }
      const std::string name = k.Scalar();
      const std::string dotted = join_dotted(key, name);
      if (name.empty()) throw ConfigError(key, where, "empty key; give the value a name");
      if (name.find('.') != std::string::npos && key != "matrix") {  // matrix keys are dotted paths
        throw ConfigError(
            dotted, where,
            "'.' separates nested keys and cannot be part of a key; nest a map instead");
      }
      if (out.contains(name)) {
        throw ConfigError(dotted, where,
                          "duplicate key (first defined at line " +
                              std::to_string(origins_.at(dotted).line) + "); keep only one");
      }
      origins_[dotted] = where;
      out[name] = convert(v, dotted);
    }
    return out;
  }

  std::string file_;
  Origins& origins_;
};

}  // namespace

ConfigTree load_yaml_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("", origin_in(file), "cannot read the file; check that it exists");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  check_text(file, text);

  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError("", at_mark(file, e.mark), "YAML syntax error: " + e.msg);
  }
  if (documents.size() > 1) {
    throw ConfigError("", at_mark(file, documents[1].Mark()),
                      "several YAML documents ('---'); a config file holds one mapping");
  }
  if (documents.empty() || documents[0].IsNull()) {
    throw ConfigError("", origin_in(file),
                      "empty file; a config file holds a mapping of keys to values");
  }
  if (!documents[0].IsMap()) {
    throw ConfigError("", at_mark(file, documents[0].Mark()),
                      "the top level must be a mapping (key: value), not a " +
                          std::string(documents[0].IsSequence() ? "list" : "single value"));
  }
  ConfigTree cfg;
  cfg.origins[""] = origin_in(file);
  cfg.tree = Converter(file, cfg.origins).convert(documents[0], "");
  return cfg;
}

json parse_flow_value(const std::string& text) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw std::invalid_argument(e.msg);
  }
  Origins ignored;
  try {
    return Converter("", ignored).convert(node, "");
  } catch (const ConfigError& e) {
    throw std::invalid_argument(e.message());
  }
}

}  // namespace attnlab::config
