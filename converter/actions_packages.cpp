// Actions on installed packages.
#include "converter/action_support.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "converter/host_file.hpp"
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

// --- install_packages ----------------------------------------------------------------------------

namespace fs = std::filesystem;

// Where the packages are copied for the guest's package tool, removed afterwards. Not /tmp or
// /var/tmp: the native backend runs guest commands on fresh, empty ones.
constexpr const char* k_guest_package_dir = "/var/cache/rehost-packages";

// The host files of `dir` matching each pattern (all matches of a pattern, sorted), or what is
// missing.
Result<std::vector<fs::path>> find_packages(const std::string& dir,
                                            const std::vector<std::string>& patterns)
{
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail("the package directory {} does not exist", dir);
  }
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  std::vector<fs::path> found;
  std::vector<std::string> unmatched;
  for (const auto& pattern : patterns) {
    size_t before = found.size();
    for (const auto& name : names) {
      if (fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0) {
        found.push_back(fs::path(dir) / name);
      }
    }
    if (found.size() == before) {
      unmatched.push_back(pattern);
    }
  }
  if (!unmatched.empty()) {
    return fail("no package in {} matches {}", dir, join(unmatched, ", "));
  }
  return found;
}

// Copies the packages into the guest, runs the command on them, and removes the copies.
Result<void> install_copies(ActionContext& c, ActionRecord& record,
                            const std::vector<fs::path>& files,
                            const std::vector<std::string>& command, Vars vars)
{
  if (auto r = c.guest.make_dirs(k_guest_package_dir); !r) {
    return r;
  }
  std::vector<std::string> copies;
  auto cleanup = [&] {
    for (const auto& copy : copies) {
      (void)c.guest.remove(copy);
    }
    (void)c.guest.remove_dir(k_guest_package_dir);
  };
  for (const auto& file : files) {
    auto data = read_host_file(file);
    const std::string copy = std::string(k_guest_package_dir) + "/" + file.filename().string();
    if (!data) {
      cleanup();
      return std::unexpected(data.error());
    }
    copies.push_back(copy);
    if (auto r = c.guest.write_file(copy, *data, 0644); !r) {
      cleanup();
      return r;
    }
  }
  vars["packages"] = copies;
  auto result = run_recorded(c, record, expand(command, vars));
  cleanup();
  if (!result) {
    return std::unexpected(result.error());
  }
  return {};
}

Result<void> install_packages(ActionContext& c, const Action& a, ActionRecord& record)
{
  const Vars vars = guest_vars(c);
  std::string dir = substitute(a.str("dir"), vars);
  const bool optional = a.str("optional") == "true";
  Result<std::vector<fs::path>> files = fail("");
  if (!dir.empty() && dir.front() != '/' && c.packages_dir.empty()) {
    // The user gave no packages at all: an optional installation is simply not asked for.
    if (optional) {
      record.notes.push_back(
          fmt::format("no --packages-dir: {} not installed", join(a.list("packages"), ", ")));
      return {};
    }
    files = fail("the package directory {} is relative, and no --packages-dir (or "
                 "$REHOST_PACKAGES_DIR) says what it is relative to",
                 dir);
  } else {
    if (dir.empty() || dir.front() != '/') {
      dir = (fs::path(c.packages_dir) / dir).lexically_normal().string();
    }
    files = find_packages(dir, a.list("packages"));
  }
  if (!files) {
    if (!optional) {
      return std::unexpected(files.error());
    }
    record.warnings.push_back(fmt::format("{}: {}; the packages were not installed",
                                          a.location.text(), files.error().message));
    record.summary = "nothing installed (optional): " + files.error().message;
    return {};
  }
  std::vector<std::string> names;
  for (const auto& f : *files) {
    names.push_back(f.filename().string());
  }
  log::progress("Installing {}", join(names, ", "));
  if (auto r = install_copies(c, record, *files, a.list("command"), vars); !r) {
    return r;
  }
  record.summary = fmt::format("installed {} from {}", join(names, ", "), dir);
  return {};
}

std::vector<ActionProblem> check_install_packages(const Action& a, const ActionSpec&)
{
  std::vector<ActionProblem> problems;
  check_flags(a, {"optional"}, problems);
  auto command = a.list("command");
  if (a.has("command") && std::none_of(command.begin(), command.end(), [](const std::string& w) {
        return w.find("${packages}") != std::string::npos;
      })) {
    problems.push_back({a.where("command"), "the command must name ${packages}"});
  }
  for (const auto& pattern : a.list("packages")) {
    if (pattern.empty() || pattern.find('/') != std::string::npos) {
      problems.push_back(
          {a.where("packages"), fmt::format("'{}' is not a file name pattern", pattern)});
    }
  }
  return problems;
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
      {{"install_packages",
        "Install package files from a host directory: the files matching the patterns are "
        "copied into the guest (/var/cache/rehost-packages), the guest's package tool runs on "
        "them, and the copies are removed. A missing directory or an unmatched pattern is an "
        "error, or a warning with optional: \"true\".",
        {ParamSpec{"dir", ParamType::string, true,
                   "the host directory; a relative one is under --packages-dir"},
         ParamSpec{"packages", ParamType::list, true,
                   "file name patterns (amazon-ssm-agent_*.deb); each must match"},
         ParamSpec{"command", ParamType::list, true,
                   "the command; ${packages} expands to the guest copies"},
         ParamSpec{"optional", ParamType::string, false,
                   "\"true\": a missing directory or package is a warning"}},
        guest_var_names({"packages"}),
        check_install_packages},
       install_packages},
  };
}

} // namespace rehost
