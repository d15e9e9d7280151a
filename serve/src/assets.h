// The files `attnlab serve` sends from memory: serve/assets/* and uPlot's dist files, embedded
// at build time (serve/cmake/embed_assets.cmake).
#pragma once
#include <map>
#include <optional>
#include <string>

namespace attnlab::serve {

// File name -> content, generated.
const std::map<std::string, std::string>& embedded_assets();

struct Asset {
  std::string content, content_type;
};

// The asset `name` ("app.js", "uPlot.iife.min.js"); nullopt when there is none.
std::optional<Asset> find_asset(const std::string& name);

// Why a vendored file is absent ("" when `name` is not one, or is embedded): the build did not
// find uPlot because scripts/setup.sh did not fetch it.
std::string missing_vendor_asset(const std::string& name);

}  // namespace attnlab::serve
