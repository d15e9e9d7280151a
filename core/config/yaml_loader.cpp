// YAML file -> ConfigTree: pre-checks on the raw bytes, yaml-cpp parsing, then a walk that
// types scalars (core schema), records origins and rejects duplicate or malformed keys.
#include "yaml_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <vector>

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

void check_text(const std::string& file, const std::string& text) {
  const size_t nul = text.find('\0');
  if (nul != std::string::npos) {
    throw ConfigError("", at_offset(file, text, nul),
                      "binary file (NUL byte), not YAML text; check the path");
  }
  const size_t bad = first_non_utf8(text);
  if (bad != std::string::npos) {
    throw ConfigError("", at_offset(file, text, bad),
                      "not UTF-8 text (binary file?); config files must be UTF-8 YAML");
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

// Where a document starts and where its root node is (the events' marks).
class DocumentMarks : public YAML::EventHandler {
 public:
  YAML::Mark start = YAML::Mark::null_mark(), root = YAML::Mark::null_mark();

  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (root.is_null()) root = mark;
  }
};

// Throws ConfigError unless `text` holds at most one YAML document. YAML::LoadAll of yaml-cpp
// 0.7 never returns (and allocates) when a document-level token starts no node; the only such
// token its scanner emits is a ',' outside [ ] and { } where a value or a new document would
// start (",x", "# c\n,", "[1]\n,", "--- ,", "&a ,"): flow ends throw outside a flow, '-' and
// '?' open a block collection. The parser ends each document without consuming the ',' and
// starts the next one at it, forever (jbeder/yaml-cpp#1040; fixed upstream by #1319, refined
// in f25f110 to this test: a document that consumes no token). Two documents starting at the
// same token are that case; at most three documents are parsed.
void check_documents(const std::string& file, const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  std::vector<DocumentMarks> documents;
  DocumentMarks next;
  while (documents.size() < 3 && parser.HandleNextDocument(next)) {
    if (!documents.empty() && documents.back().start.pos == next.start.pos) {
      throw ConfigError("", at_mark(file, next.start),
                        "stray ',': a comma separates items only inside [ ] or { }, so it "
                        "cannot start a value here; quote a value that starts with one "
                        "(key: ',x') or remove it");
    }
    documents.push_back(next);
    next = DocumentMarks();
  }
  if (documents.size() > 1) {
    throw ConfigError("", at_mark(file, documents[1].root),
                      "several YAML documents ('---'); a config file holds one mapping");
  }
}

class Converter {
 public:
  Converter(std::string file, Origins& origins) : file_(std::move(file)), origins_(origins) {}

  json convert(const YAML::Node& node, const std::string& key) {
    spend(1, node.IsScalar() ? node.Scalar().size() : 0, key, at_mark(file_, node.Mark()));
    if (depth_ == kMaxDepth) {
      throw ConfigError(key, at_mark(file_, node.Mark()),
                        "nested deeper than " + std::to_string(kMaxDepth) +
                            " levels; an alias inside its own anchor (&a [*a]) nests without "
                            "end: write the values out");
    }
    ++depth_;
    json out = convert_node(node, key);
    --depth_;
    return out;
  }

 private:
  static constexpr int kMaxDepth = 512;  // far past real configs; keeps the stack small

  json convert_node(const YAML::Node& node, const std::string& key) {
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

  // Counts what the conversion has built; throws once it passes the size limits, which only
  // nested aliases reach in a file of reasonable size.
  void spend(size_t values, size_t bytes, const std::string& key, const Origin& where) {
    if (budget_.spend(values, bytes)) return;
    throw ConfigError(key, where,
                      "the YAML expands past " + SizeBudget::limits_text() +
                          " (an alias *name repeats what its anchor &name holds, so nested "
                          "aliases multiply); write the values out or drop the nested aliases");
  }

  json scalar(const YAML::Node& node, const std::string& key) {
    const std::string& tag = node.Tag();
    if (tag != "?" && tag != "!" && tag != "tag:yaml.org,2002:str") {
      throw ConfigError(key, at_mark(file_, node.Mark()),
                        "unsupported YAML tag '" + tag +
                            "'; remove it (values are typed by how they are written)");
    }
    try {
      check_string_chars(node.Scalar(), false);
      return tag == "?" ? resolve_plain_scalar(node.Scalar()) : json(node.Scalar());
    } catch (const std::invalid_argument& e) {
      throw ConfigError(key, at_mark(file_, node.Mark()), e.what());
    }
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
      if (name.empty()) throw ConfigError(key, where, "empty key; give the value a name");
      try {
        check_string_chars(name, true);
      } catch (const std::invalid_argument& e) {
        throw ConfigError(key, where, e.what());
      }
      const std::string dotted = join_dotted(key, name);
      spend(0, name.size(), dotted, where);
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
  SizeBudget budget_;
  int depth_ = 0;  // maps and lists being converted
};

}  // namespace

ConfigTree load_yaml_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("", origin_in(file), "cannot read the file; check that it exists");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes) {
    throw ConfigError("", origin_in(file),
                      "the file has " + std::to_string(size) +
                          " bytes; a config file holds at most " +
                          std::to_string(kMaxConfigBytes >> 20) + " MiB (is this a data file?)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  check_text(file, text);

  YAML::Node document;
  try {
    check_documents(file, text);
    document = YAML::Load(text);  // the first document only: never loops (see check_documents)
  } catch (const YAML::ParserException& e) {
    throw ConfigError("", at_mark(file, e.mark), "YAML syntax error: " + e.msg);
  }
  if (document.IsNull()) {
    throw ConfigError("", origin_in(file),
                      "empty file; a config file holds a mapping of keys to values");
  }
  if (!document.IsMap()) {
    throw ConfigError("", at_mark(file, document.Mark()),
                      "the top level must be a mapping (key: value), not a " +
                          std::string(document.IsSequence() ? "list" : "single value"));
  }
  ConfigTree cfg;
  cfg.origins[""] = origin_in(file);
  cfg.tree = Converter(file, cfg.origins).convert(document, "");
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
