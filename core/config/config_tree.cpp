// Dotted paths, the recursive merge of config trees (keeping every key's origin) and the
// size budget.
#include "config_tree.h"

#include <cstdlib>
#include <iterator>

namespace attnlab::config {

bool SizeBudget::spend(size_t values, size_t bytes) {
  values_ += values;
  bytes_ += bytes;
  return values_ <= kMaxConfigValues && bytes_ <= kMaxConfigBytes;
}

bool SizeBudget::spend(const json& value) {
  if (value.is_string()) return spend(1, value.get_ref<const std::string&>().size());
  if (!spend(1, 0)) return false;
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (!spend(0, key.size()) || !spend(child)) return false;
    }
  } else if (value.is_array()) {
    for (const auto& child : value) {
      if (!spend(child)) return false;
    }
  }
  return true;
}

std::string SizeBudget::limits_text() {
  return std::to_string(kMaxConfigValues) + " values or " + std::to_string(kMaxConfigBytes >> 20) +
         " MiB of keys and strings";
}

std::vector<std::string> split_dotted(const std::string& dotted) {
  std::vector<std::string> parts;
  if (dotted.empty()) return parts;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    parts.push_back(
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string join_dotted(const std::string& prefix, const std::string& key) {
  if (prefix.empty()) return key;
  if (key.empty()) return prefix;
  return prefix + "." + key;
}

std::string parent_of(const std::string& dotted) {
  size_t dot = dotted.rfind('.');
  return dot == std::string::npos ? "" : dotted.substr(0, dot);
}

static bool list_index(const std::string& part, const json& list, size_t& index) {
  if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return false;
  index = std::strtoull(part.c_str(), nullptr, 10);
  return index < list.size();
}

const json* find_path(const json& tree, const std::vector<std::string>& path) {
  const json* node = &tree;
  for (const auto& part : path) {
    if (node->is_object()) {
      auto it = node->find(part);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      size_t index = 0;
      if (!list_index(part, *node, index)) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

json* find_path(json& tree, const std::vector<std::string>& path) {
  return const_cast<json*>(find_path(static_cast<const json&>(tree), path));
}

Origin nearest_origin(const Origins& origins, const std::string& dotted, const Origin& fallback) {
  std::string key = dotted;
  while (true) {
    auto it = origins.find(key);
    if (it != origins.end()) return it->second;
    if (key.empty()) return fallback;
    key = parent_of(key);
  }
}

static bool is_at_or_below(const std::string& key, const std::string& dotted) {
  if (dotted.empty()) return true;
  return key == dotted || (key.size() > dotted.size() &&
                           key.compare(0, dotted.size(), dotted) == 0 && key[dotted.size()] == '.');
}

void erase_origins(Origins& origins, const std::string& dotted) {
  for (auto it = origins.begin(); it != origins.end();) {
    it = is_at_or_below(it->first, dotted) ? origins.erase(it) : std::next(it);
  }
}

void copy_origins(const Origins& src, const std::string& from, Origins& dst,
                  const std::string& to) {
  for (const auto& [key, origin] : src) {
    if (!is_at_or_below(key, from)) continue;
    const std::string rest =
        key.size() == from.size() ? "" : key.substr(from.empty() ? 0 : from.size() + 1);
    dst[join_dotted(to, rest)] = origin;
  }
}

static void merge_value(json& dst, const json& src, const std::string& dst_key,
                        const std::string& src_key, Origins& dst_origins,
                        const Origins& src_origins) {
  if (dst.is_object() && src.is_object()) {
    if (auto it = src_origins.find(src_key); it != src_origins.end() && !dst_key.empty()) {
      dst_origins[dst_key] = it->second;
    }
    for (const auto& [key, value] : src.items()) {
      const std::string dk = join_dotted(dst_key, key), sk = join_dotted(src_key, key);
      if (dst.contains(key)) {
        merge_value(dst[key], value, dk, sk, dst_origins, src_origins);
      } else {
        dst[key] = value;
        copy_origins(src_origins, sk, dst_origins, dk);
      }
    }
    return;
  }
  dst = src;
  erase_origins(dst_origins, dst_key);
  copy_origins(src_origins, src_key, dst_origins, dst_key);
}

static json& make_path(ConfigTree& cfg, const std::string& dotted, const Origin& origin) {
  json* node = &cfg.tree;
  std::string key;
  for (const auto& part : split_dotted(dotted)) {
    key = join_dotted(key, part);
    if (!node->is_object()) {
      throw ConfigError(parent_of(key), nearest_origin(cfg.origins, parent_of(key), origin),
                        "is a " + std::string(node->type_name()) +
                            ", not a map, so it has no key '" + part + "'");
    }
    if (!node->contains(part)) {
      (*node)[part] = json::object();
      cfg.origins[key] = origin;
    }
    node = &(*node)[part];
  }
  return *node;
}

void merge_at(ConfigTree& dst, const ConfigTree& src, const std::string& package) {
  Origin package_origin = src.origins.count("") ? src.origins.at("") : Origin{};
  json& node = make_path(dst, package, package_origin);
  merge_value(node, src.tree, package, "", dst.origins, src.origins);
}

static void set_origins_inside(Origins& origins, const std::string& key, const json& value,
                               const Origin& origin) {
  origins[key] = origin;
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) set_origins_inside(origins, key + "." + k, v, origin);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      set_origins_inside(origins, key + "." + std::to_string(i), value[i], origin);
    }
  }
}

void set_path(ConfigTree& cfg, const std::string& dotted, const json& value, const Origin& origin) {
  json& parent = make_path(cfg, parent_of(dotted), origin);
  const std::string leaf = split_dotted(dotted).back();
  if (!parent.is_object()) {
    throw ConfigError(
        parent_of(dotted), nearest_origin(cfg.origins, parent_of(dotted), origin),
        "is a " + std::string(parent.type_name()) + ", not a map, so it has no key '" + leaf + "'");
  }
  parent[leaf] = value;
  erase_origins(cfg.origins, dotted);
  set_origins_inside(cfg.origins, dotted, value, origin);
}

}  // namespace attnlab::config
