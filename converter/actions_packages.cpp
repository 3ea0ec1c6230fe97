// Actions on installed packages.
#include "converter/action_support.hpp"

#include "converter/log.hpp"

namespace rehost {

namespace {

// --- remove_packages -----------------------------------------------------------------------------

Result<void> remove_packages(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> installed;
  for (const auto& p : a.list("packages")) {
    if (c.inspection.has_package(p)) {
      installed.push_back(p);
    }
  }
  if (installed.empty()) {
    return {};
  }
  log::progress("Removing {}", join(installed, ", "));
  auto argv = expand(a.list("command"), {{"packages", installed}});
  auto result = run_recorded(c, record, argv);
  if (!result) {
    return std::unexpected(result.error());
  }
  record.summary = "removed " + join(installed, ", ");
  return {};
}

} // namespace

std::vector<ActionType> package_action_types()
{
  return {
      {{"remove_packages",
        "Remove those of the listed packages that are installed, with the given command.",
        {ParamSpec{"packages", ParamType::list, true, "package names"},
         ParamSpec{"command", ParamType::list, true,
                   "the command; ${packages} expands to the installed ones"}},
        {"packages"}},
       remove_packages},
  };
}

} // namespace rehost
