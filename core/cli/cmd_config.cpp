// attnlab config: `show` composes an experiment (defaults, overrides, sweeps, matrix) and
// prints each cell's resolved, validated YAML or the list of cells, then the plan and the
// checks `attnlab run` runs before training; `schema` prints every key
// the config accepts, with type, default, range or choices and description.
#include <cmath>
#include <iomanip>
#include <iostream>

#include "attnlab/config/config.h"
#include "attnlab/config/schema.h"
#include "attnlab/config/yaml_writer.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/run/plan.h"
#include "attnlab/spec/product_schemas.h"
#include "attnlab/spec/run_spec.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {

namespace {

namespace cfg = attnlab::config;
using nlohmann::json;

const char* const kUsage =
    "show EXPERIMENT [OVERRIDE...] [--matrix] | schema\n\n"
    "  show    compose EXPERIMENT (a .yaml path, or a name in the config dir), apply the\n"
    "          overrides, expand sweeps and the matrix: block, validate, print each cell\n"
    "  schema  print every config key: dotted name, type, default, range or choices, "
    "description\n\n"
    "overrides (docs/CONFIG.md):\n"
    "  a.b=v  set   +a.b=v  add   ++a.b=v  add or replace   ~a.b  delete\n"
    "  group=option  switch a config group (attention=gated_window)\n"
    "  a=1,2,3  a=range(0,10,2)  a=choice(x,y)  sweep: one cell per value, cartesian product";

std::string range_text(const cfg::KeySchema& key) {
  if (!key.choices.empty()) {
    std::string s;
    for (const auto& c : key.choices) s += (s.empty() ? "" : "|") + c;
    return "{" + s + "}";
  }
  if (key.type != cfg::ValueType::Int && key.type != cfg::ValueType::Float) return "";
  const bool lo = std::isfinite(key.min), hi = std::isfinite(key.max);
  if (!lo && !hi) return "";
  auto num = [&](double x) {
    return cfg::to_flow_yaml(key.type == cfg::ValueType::Int ? json(static_cast<long long>(x))
                                                             : json(x));
  };
  return "[" + (lo ? num(key.min) : "-inf") + ", " + (hi ? num(key.max) : "inf") + "]";
}

void print_section(const cfg::SectionSchema& section, const std::string& note) {
  std::cout << "# " << (section.path.empty() ? "(top level)" : section.path) << "  ("
            << section.owner << (note.empty() ? "" : ", " + note)
            << (section.open ? ", open: any other key accepted" : "") << ")\n";
  for (const auto& key : section.keys) {
    const std::string name = section.path.empty() ? key.key : section.path + "." + key.key;
    const std::string dflt = key.default_value.is_null()
                                 ? "required"
                                 : "default " + cfg::to_flow_yaml(key.default_value);
    std::cout << std::left << std::setw(32) << name << " " << std::setw(6)
              << cfg::to_string(key.type) << " " << std::setw(20) << dflt << " " << std::setw(16)
              << range_text(key) << " " << key.description << "\n";
  }
  std::cout << "\n";
}

// Static sections, then each dynamic section once per choice of a sibling choice key
// (attention.options once per attention.variant).
int show_schema(const cfg::SchemaRegistry& registry) {
  const auto statics = registry.sections();
  for (const auto& section : statics) print_section(section, "");
  for (const auto& section : statics) {
    for (const auto& key : section.keys) {
      if (key.choices.empty()) continue;
      const std::string dotted = section.path.empty() ? key.key : section.path + "." + key.key;
      for (const auto& choice : key.choices) {
        cfg::ResolvedConfig probe;
        json* node = &probe.tree;
        for (size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
          dot = dotted.find('.', start);
          node = &(*node)[dotted.substr(
              start, dot == std::string::npos ? std::string::npos : dot - start)];
        }
        *node = choice;
        try {
          const auto all = registry.sections(&probe);
          for (size_t i = statics.size(); i < all.size(); ++i) {
            if (all[i].path.rfind(section.path, 0) == 0)
              print_section(all[i], "when " + dotted + "=" + choice);
          }
        } catch (const cfg::ConfigError&) {
          // this choice does not resolve the dynamic sections: nothing to list for it
        }
      }
    }
  }
  return 0;
}

// Prints the cells (or, with --matrix, their names and overrides) on stdout and the plan on
// stderr, then runs the checks `attnlab run` runs before training: a config this machine
// cannot train fails here with the same message.
int show_configs(const spec::SpecRequest& request, bool matrix,
                 const std::filesystem::path& plugin_dir) {
  const auto specs =
      spec::build_run_specs(request, std::make_shared<plugin::PluginRegistry>(plugin_dir));
  if (matrix) {
    json list = json::array();
    for (const auto& s : specs) list.push_back({{"cell", s.run_name}, {"overrides", s.cell.overrides}});
    std::cout << "# " << specs.at(0).experiment << ": " << specs.size() << " cell(s) from "
              << specs.at(0).cell.source_file.string() << "\n"
              << cfg::to_yaml(list);
  }
  for (size_t i = 0; i < specs.size() && !matrix; ++i) {
    if (specs.size() > 1) {
      std::cout << (i ? "---\n" : "") << "# cell " << i + 1 << "/" << specs.size() << ": "
                << specs[i].run_name << "\n";
    }
    std::cout << cfg::to_yaml(specs[i].cell.tree);
  }
  std::cout << std::flush;
  run::print_plan(std::cerr, specs, 1);
  spec::check_runnable(specs);
  return 0;
}

}  // namespace

int cmd_config(const Args& args) {
  po::options_description options("config options");
  options.add_options()("matrix", po::bool_switch(),
                        "show: list the cells (name and overrides) instead of their configs")(
      "config-dir", po::value<std::string>(),
      "config groups and experiments by name (default: $ATTNLAB_EXPERIMENTS_DIR, else "
      "./experiments); "
      "the experiment's own folder is searched first")(
      "plugin-dir", po::value<std::string>(),
      "attention plugins (default: $ATTNLAB_PLUGIN_DIR, else plugins/ next to the executable)");
  const ParsedArgs parsed = parse_args("config", kUsage, options, args, "args");
  if (parsed.help) return 0;
  const auto& pos = parsed.positional;
  if (pos.empty()) throw UsageError("expected 'show EXPERIMENT [OVERRIDE...]' or 'schema'");
  const std::filesystem::path plugin_dir =
      parsed.vm.count("plugin-dir")
          ? std::filesystem::path(parsed.vm["plugin-dir"].as<std::string>())
          : default_plugin_dir();
  const std::filesystem::path config_dir =
      parsed.vm.count("config-dir")
          ? std::filesystem::path(parsed.vm["config-dir"].as<std::string>())
          : default_experiments_dir();
  const bool matrix = parsed.vm["matrix"].as<bool>();
  if (pos[0] == "schema") {
    if (pos.size() > 1)
      throw UsageError("'config schema' takes no arguments, got '" + pos[1] + "'");
    if (matrix) throw UsageError("--matrix belongs to 'config show'");
    return show_schema(spec::build_schema_registry(plugin_dir));
  }
  if (pos[0] == "show") {
    if (pos.size() < 2)
      throw UsageError("'config show' needs an experiment (a .yaml path or a name)");
    return show_configs({pos[1], {pos.begin() + 2, pos.end()}, {config_dir}}, matrix, plugin_dir);
  }
  throw UsageError("unknown subcommand '" + pos[0] + "'; expected 'show' or 'schema'");
}

}  // namespace attnlab::cli
