// Interpolation: a depth-first resolver over dotted keys that detects cycles with an
// in-progress set and bounds what interpolations copy (nested ones multiply).
#include "interpolation.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "scalar.h"
#include "suggest.h"

namespace attnlab::config {

namespace {

// One piece of a string: literal text, or the inside of a ${...}.
struct Piece {
  bool interpolation = false;
  std::string text;
};

class Resolver {
 public:
  explicit Resolver(ConfigTree& cfg) : cfg_(cfg) {}

  void resolve_all() { visit(""); }

 private:
  // Resolves every string at or below `key`.
  void visit(const std::string& key) {
    json* node = find_path(cfg_.tree, split_dotted(key));
    if (node->is_object()) {
      std::vector<std::string> children;
      for (const auto& item : node->items()) children.push_back(join_dotted(key, item.key()));
      for (const auto& child : children) visit(child);
    } else if (node->is_array()) {
      const size_t n = node->size();
      for (size_t i = 0; i < n; ++i) visit(join_dotted(key, std::to_string(i)));
    } else {
      resolve_key(key);
    }
  }

  // Resolves the value at `key` (a whole subtree for maps and lists) and returns it.
  json resolve_key(const std::string& key) {
    if (done_.count(key)) return *find_path(cfg_.tree, split_dotted(key));
    if (auto it = std::find(active_.begin(), active_.end(), key); it != active_.end()) {
      std::string chain;
      for (; it != active_.end(); ++it) chain += *it + " -> ";
      throw ConfigError(key, origin(key), "interpolation cycle: " + chain + key);
    }
    if (active_.size() == kMaxChain) {
      throw ConfigError(key, origin(key),
                        "interpolations go more than " + std::to_string(kMaxChain) +
                            " levels deep (" + active_.front() + " -> " + active_[1] +
                            " -> ...); refer to the final value directly");
    }
    active_.push_back(key);
    json* node = find_path(cfg_.tree, split_dotted(key));
    if (node->is_object() || node->is_array()) {
      visit_children(key);
    } else if (node->is_string() &&
               node->get_ref<const std::string&>().find("${") != std::string::npos) {
      json value = evaluate(node->get<std::string>(), key);
      *find_path(cfg_.tree, split_dotted(key)) = value;
    }
    active_.pop_back();
    done_.insert(key);
    return *find_path(cfg_.tree, split_dotted(key));
  }

  void visit_children(const std::string& key) {
    const json& node = *find_path(cfg_.tree, split_dotted(key));
    std::vector<std::string> children;
    if (node.is_object()) {
      for (const auto& item : node.items()) children.push_back(join_dotted(key, item.key()));
    } else {
      for (size_t i = 0; i < node.size(); ++i)
        children.push_back(join_dotted(key, std::to_string(i)));
    }
    for (const auto& child : children) resolve_key(child);
  }

  // Splits `text` into literals and ${...} bodies (nested ${} kept inside the body).
  std::vector<Piece> split(const std::string& text, const std::string& key) {
    std::vector<Piece> pieces;
    std::string literal;
    for (size_t i = 0; i < text.size();) {
      if (text[i] == '\\' && text.compare(i + 1, 2, "${") == 0) {
        literal += "${";
        i += 3;
        continue;
      }
      if (text.compare(i, 2, "${") != 0) {
        literal.push_back(text[i++]);
        continue;
      }
      int depth = 0;
      size_t j = i;
      for (; j < text.size(); ++j) {
        if (text.compare(j, 2, "${") == 0) {
          ++depth;
          ++j;
        } else if (text[j] == '}' && --depth == 0) {
          break;
        }
      }
      if (j >= text.size()) {
        throw ConfigError(key, origin(key),
                          "unterminated interpolation in '" + text + "': add the closing '}'");
      }
      if (!literal.empty()) pieces.push_back({false, literal});
      literal.clear();
      pieces.push_back({true, text.substr(i + 2, j - i - 2)});
      i = j + 1;
    }
    if (!literal.empty()) pieces.push_back({false, literal});
    return pieces;
  }

  json evaluate(const std::string& text, const std::string& key) {
    const auto pieces = split(text, key);
    if (pieces.size() == 1 && pieces[0].interpolation) {
      json value = expression(pieces[0].text, key);
      within_budget(budget_.spend(value), key);
      return value;
    }
    std::string out;
    for (const auto& piece : pieces) {
      std::string part = piece.text;
      if (piece.interpolation) {
        const json value = expression(piece.text, key);
        if (value.is_object() || value.is_array()) {
          throw ConfigError(key, origin(key),
                            "'${" + piece.text + "}' is a " + value.type_name() +
                                " and cannot be part of a string; interpolate it alone");
        }
        part = value.is_string() ? value.get<std::string>() : value.dump();
      }
      within_budget(budget_.spend(0, part.size()), key);
      out += part;
    }
    return out;
  }

  // Throws unless `within` (what interpolations copied so far is within the size limits).
  void within_budget(bool within, const std::string& key) {
    if (within) return;
    throw ConfigError(key, origin(key),
                      "interpolations copy more than " + SizeBudget::limits_text() +
                          " into the config (each ${a} copies the value of a; interpolating "
                          "values that interpolate others multiplies); interpolate less");
  }

  json expression(const std::string& raw, const std::string& key) {
    const std::string body =
        raw.find("${") == std::string::npos ? raw : evaluate(raw, key).get<std::string>();
    if (body.empty()) throw ConfigError(key, origin(key), "empty interpolation '${}'");
    const size_t colon = body.find(':');
    if (colon != std::string::npos) {
      const std::string resolver = body.substr(0, colon);
      if (resolver != "env" && resolver != "oc.env") {
        throw ConfigError(
            key, origin(key),
            "unknown resolver '" + resolver + "' in '${" + body + "}'; only env: is supported");
      }
      return environment(body.substr(colon + 1), key);
    }
    const std::string target = target_key(body, key);
    if (!find_path(cfg_.tree, split_dotted(target))) {
      throw ConfigError(key, origin(key),
                        "interpolation '${" + body + "}' refers to '" + target +
                            "', which does not exist" + suggestion(target));
    }
    return resolve_key(target);
  }

  std::string target_key(const std::string& body, const std::string& key) {
    size_t dots = 0;
    while (dots < body.size() && body[dots] == '.') ++dots;
    if (dots == 0) return body;
    std::string base = parent_of(key);  // '.': the map holding `key`
    for (size_t i = 1; i < dots; ++i) {
      if (base.empty()) {
        throw ConfigError(key, origin(key), "'${" + body + "}' goes above the top of the config");
      }
      base = parent_of(base);
    }
    return join_dotted(base, body.substr(dots));
  }

  json environment(const std::string& spec, const std::string& key) {
    const size_t comma = spec.find(',');
    const std::string name = spec.substr(0, comma);
    if (const char* value = std::getenv(name.c_str())) {
      return typed(value, "environment variable " + name, key);
    }
    if (comma == std::string::npos) {
      throw ConfigError(key, origin(key),
                        "environment variable " + name +
                            " is not set; set it or give a default: ${env:" + name + ",DEFAULT}");
    }
    std::string fallback = spec.substr(comma + 1);
    const size_t a = fallback.find_first_not_of(' ');
    fallback = a == std::string::npos ? "" : fallback.substr(a);
    if (fallback.size() >= 2 && (fallback.front() == '\'' || fallback.front() == '"') &&
        fallback.back() == fallback.front()) {
      return fallback.substr(1, fallback.size() - 2);
    }
    return typed(fallback, "the default of ${env:" + name + "}", key);
  }

  // `text` typed as a plain scalar; its problems (control characters, 1e999) as ConfigErrors.
  json typed(const std::string& text, const std::string& what, const std::string& key) {
    try {
      check_string_chars(text, false);
      return resolve_plain_scalar(text);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(key, origin(key), what + ": " + e.what());
    }
  }

  std::string suggestion(const std::string& target) {
    const json* parent = find_path(cfg_.tree, split_dotted(parent_of(target)));
    if (!parent || !parent->is_object()) return "";
    std::vector<std::string> siblings;
    for (const auto& item : parent->items())
      siblings.push_back(join_dotted(parent_of(target), item.key()));
    return did_you_mean(target, siblings);
  }

  Origin origin(const std::string& key) const {
    return nearest_origin(cfg_.origins, key, Origin{});
  }

  static constexpr size_t kMaxChain = 64;  // keys resolving at once (a chain ${a} -> ${b}...)

  ConfigTree& cfg_;
  std::vector<std::string> active_;
  std::set<std::string> done_;
  SizeBudget budget_;  // what interpolations add to the tree
};

}  // namespace

void resolve_interpolations(ConfigTree& cfg) { Resolver(cfg).resolve_all(); }

}  // namespace attnlab::config
