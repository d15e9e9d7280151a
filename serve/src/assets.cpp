// Embedded files by name with their content types, and the message for a missing uPlot.
#include "assets.h"

namespace attnlab::serve {

namespace {

constexpr const char* kVendorAssets[] = {"uPlot.iife.min.js", "uPlot.min.css"};

std::string content_type(const std::string& name) {
  const auto dot = name.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  return "text/plain; charset=utf-8";
}

}  // namespace

std::optional<Asset> find_asset(const std::string& name) {
  const auto& assets = embedded_assets();
  const auto it = assets.find(name);
  if (it == assets.end()) return std::nullopt;
  return Asset{it->second, content_type(name)};
}

std::string missing_vendor_asset(const std::string& name) {
  for (const char* vendor : kVendorAssets) {
    if (name == vendor && !embedded_assets().count(name)) {
      return name +
             " (uPlot, the chart library) was not found when attnlab was built: run "
             "scripts/setup.sh (it fetches uPlot with npm into build-deps/), then rebuild";
    }
  }
  return "";
}

}  // namespace attnlab::serve
