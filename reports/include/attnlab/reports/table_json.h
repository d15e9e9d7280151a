// A report Table as JSON, for notebooks and the results browser: the display view (each cell's
// text, the bold best values) and the data view with its numeric columns as numbers.
#pragma once
#include <nlohmann/json.hpp>

#include "attnlab/reports/table.h"

namespace attnlab::reports {

// {"id", "title", "header", "rows": [[text...]], "best": [[row, column]...], "notes",
//  "data": {"header", "rows"}}. In data.rows a column whose every non-empty value parses as a
// number holds numbers ("" becomes null); any other column keeps its strings.
nlohmann::json to_json(const Table& table);

}  // namespace attnlab::reports
