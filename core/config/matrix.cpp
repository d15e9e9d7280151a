// Matrix expansion: which overrides sweep, their cartesian product, and cell names.
#include "matrix.h"

#include <algorithm>
#include <tuple>

#include "attnlab/config/yaml_writer.h"

namespace attnlab::config {

namespace {

constexpr size_t kMaxCells = 100000;

// The values of `a` and `b` as one sweep override: "seed=1,2" from seed=1 and seed=2.
std::string joined_sweep(const Override& a, const Override& b) {
  std::string values;
  for (const auto* o : {&a, &b}) {
    for (const auto& v : o->values) values += (values.empty() ? "" : ",") + v.text;
  }
  return override_text(a.kind, a.key, nullptr) + "=" + values;
}

// Throws at the second of two overrides in `list` with the same key (the command line, or
// the matrix block's `seed` and `++seed`): one would silently replace the other.
void reject_repeated_keys(const std::vector<Override>& list, const std::string& where) {
  for (size_t j = 0; j < list.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      const Override &a = list[i], &b = list[j];
      if (a.key != b.key) continue;
      const bool deletes = a.kind == OverrideKind::Delete || b.kind == OverrideKind::Delete;
      throw ConfigError(
          b.key, b.origin,
          "set twice " + where + " (" + a.origin.str() + " and " + b.origin.str() + "); keep one" +
              (deletes ? " (to replace a value, ++" + b.key + "=VALUE alone does it)"
                       : " (to run both, sweep them in one override: " + joined_sweep(a, b) + ")"));
    }
  }
}

}  // namespace

std::vector<Override> parse_matrix_block(const ConfigTree& experiment) {
  const auto it = experiment.tree.find("matrix");
  if (it == experiment.tree.end()) return {};
  const Origin block_origin = nearest_origin(experiment.origins, "matrix", Origin{});
  if (!it->is_object()) {
    throw ConfigError("matrix", block_origin,
                      "must be a map of key: [values] (or key: \"a,b,c\"), got a " +
                          std::string(it->type_name()));
  }
  std::vector<std::pair<std::string, Origin>> keys;
  for (const auto& [key, value] : it->items()) {
    keys.emplace_back(key, nearest_origin(experiment.origins, "matrix." + key, block_origin));
  }
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.line, a.second.column) < std::tie(b.second.line, b.second.column);
  });

  std::vector<Override> entries;
  for (const auto& [key, origin] : keys) {
    const nlohmann::json& value = (*it)[key];
    const std::string dotted = "matrix." + key;
    Override entry = parse_override(key + "=0", origin);  // the key grammar of overrides
    if (entry.kind == OverrideKind::Delete) {
      throw ConfigError(dotted, origin,
                        "a matrix entry cannot delete; use ~key on the command line");
    }
    entry.sweep = true;
    entry.values.clear();
    if (value.is_array()) {
      if (value.empty()) throw ConfigError(dotted, origin, "empty list; give at least one value");
      for (const auto& v : value) entry.values.push_back({v, to_flow_yaml(v)});
    } else if (value.is_string()) {
      bool sweep = false;
      try {
        entry.values = parse_override_values(value.get<std::string>(), sweep);
      } catch (const std::invalid_argument& e) {
        throw ConfigError(dotted, origin, std::string("bad sweep: ") + e.what());
      }
    } else if (value.is_object()) {
      throw ConfigError(dotted, origin,
                        "must be a list of values or a sweep string such as \"1,2,3\"");
    } else {
      entry.values.push_back({value, to_flow_yaml(value)});
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<Cell> expand_cells(const std::vector<Override>& matrix,
                               const std::vector<Override>& command_line) {
  reject_repeated_keys(matrix, "in the matrix block");
  reject_repeated_keys(command_line, "on the command line");
  std::vector<Override> all;
  for (const auto& m : matrix) {
    const bool replaced = std::any_of(command_line.begin(), command_line.end(),
                                      [&](const Override& o) { return o.key == m.key; });
    if (!replaced) all.push_back(m);
  }
  all.insert(all.end(), command_line.begin(), command_line.end());

  size_t total = 1;
  for (const auto& o : all) {
    if (o.values.size() > 1) total *= o.values.size();
    if (total > kMaxCells) {
      throw ConfigError(o.key, o.origin,
                        "the sweeps make more than 100000 cells; sweep fewer values");
    }
  }
  std::vector<Cell> cells(total);
  for (size_t c = 0; c < total; ++c) {
    size_t rest = c;
    std::vector<size_t> pick(all.size(), 0);
    for (size_t i = all.size(); i-- > 0;) {  // the last override varies fastest
      const size_t n = std::max<size_t>(1, all[i].values.size());
      pick[i] = rest % n;
      rest /= n;
    }
    Cell& cell = cells[c];
    for (size_t i = 0; i < all.size(); ++i) {
      Override single = all[i];
      single.values.clear();
      const OverrideValue* value = all[i].values.empty() ? nullptr : &all[i].values[pick[i]];
      if (value) single.values.push_back(*value);
      single.sweep = false;
      cell.texts.push_back(override_text(single.kind, single.key, value));
      cell.overrides.push_back(std::move(single));
      if (all[i].sweep)
        cell.name += (cell.name.empty() ? "" : ",") + all[i].key + "=" + value->text;
    }
  }
  return cells;
}

}  // namespace attnlab::config
