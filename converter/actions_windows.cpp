// The actions on Windows guests: the conversion itself (drivers, services, first boot: see
// windows_convert.hpp for what it does and why), and registry values a rule sets or deletes.
#include "converter/action_support.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "converter/text_lines.hpp"
#include "converter/windows_convert.hpp"
#include "converter/windows_guest.hpp"
#include "drivers/registry.hpp"

namespace rehost {

namespace {

Result<void> windows_drivers(ActionContext& c, const Action& a, ActionRecord& record)
{
  if (!c.inspection.windows) {
    return fail("{}: windows_drivers needs a Windows guest", a.location.text());
  }
  if (c.target.windows.storage_ids.empty()) {
    return fail("the {} target profile has no windows block: it cannot convert Windows guests",
                c.target.name);
  }
  auto dir = windows_drivers_dir(c.windows_drivers, c.target.windows);
  if (!dir) {
    // Without the profile's default packages, Windows' own storage driver may still boot the
    // disk (stornvme from Server 2012 R2 on): convert with it, and say what is missing.
    std::string inbox = inbox_storage_service(*c.inspection.windows, c.target.windows);
    if (!c.windows_drivers.empty() || inbox.empty()) {
      return std::unexpected(dir.error());
    }
    record.warnings.push_back(fmt::format("{}; the boot disk uses Windows' own {} driver, and no "
                                          "other driver of the target is installed",
                                          dir.error().message, inbox));
    dir = std::string();
  }
  auto changes = convert_windows(c.guest, c.inspection, c.target.windows, *dir, c.hive_logs);
  if (!changes) {
    return std::unexpected(changes.error());
  }
  const WindowsInfo& w = *c.inspection.windows;
  for (const auto& [hive, name, list] :
       {std::tuple{w.system_hive, std::string("HKLM\\SYSTEM"), &changes->system},
        std::tuple{w.software_hive, std::string("HKLM\\SOFTWARE"), &changes->software}}) {
    if (list->empty()) {
      continue;
    }
    FileChange change;
    change.path = hive;
    change.kind = "modified";
    change.diff = drivers::format_changes(name, *list);
    record.changes.push_back(change);
  }
  for (const auto& file : changes->files) {
    FileChange change;
    change.path = file;
    change.kind = "created";
    if (auto info = c.guest.stat(file); info) {
      change.after_size = info->size;
    }
    record.changes.push_back(change);
  }
  record.notes = changes->notes;
  record.details["firstboot"] = changes->firstboot;
  record.summary = fmt::format("Windows: {} registry changes, {} files, {} first-boot scripts",
                               changes->system.size() + changes->software.size(),
                               changes->files.size(), changes->firstboot.size());
  return {};
}

// --- registry ------------------------------------------------------------------------------------

Result<uint64_t> number(const std::string& text, uint64_t max)
{
  const bool hex = text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0;
  const std::string digits = hex ? text.substr(2) : text;
  if (digits.empty()
      || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789")
             != std::string::npos) {
    return fail("'{}' is not a number (decimal, or hex with 0x)", text);
  }
  // Longer than any 64-bit number (before stoull would throw).
  if (digits.size() > (hex ? 16u : 19u)) {
    return fail("{} is too large", text);
  }
  uint64_t value = std::stoull(digits, nullptr, hex ? 16 : 10);
  if (value > max) {
    return fail("{} is too large", text);
  }
  return value;
}

// A value of a `values` record: type sz, expand_sz, dword, qword, multi_sz or binary, and
// its data (a list for multi_sz; hex bytes such as "01 02 ff" for binary).
Result<drivers::RegValue> registry_value(const ParamRecord& r, const Vars& vars)
{
  using drivers::RegValue;
  const std::string type = r.str("type");
  const std::string data = substitute(r.str("data"), vars);
  if (type == "sz") {
    return RegValue::sz(data);
  }
  if (type == "expand_sz") {
    return RegValue::expand_sz(data);
  }
  if (type == "multi_sz") {
    std::vector<std::string> items;
    for (const auto& item : r.list("data")) {
      items.push_back(substitute(item, vars));
    }
    return RegValue::multi_sz(items);
  }
  if (type == "dword") {
    auto n = number(data, 0xffffffff);
    if (!n) {
      return std::unexpected(n.error());
    }
    return RegValue::dword(static_cast<uint32_t>(*n));
  }
  if (type == "qword") {
    auto n = number(data, UINT64_MAX);
    if (!n) {
      return std::unexpected(n.error());
    }
    return RegValue::qword(*n);
  }
  if (type == "binary") {
    std::string bytes;
    std::string hex;
    for (char ch : data + " ") {
      if (std::isxdigit(static_cast<unsigned char>(ch))) {
        hex += ch;
      } else if (ch == ' ' || ch == ',') {
        if (hex.size() > 2) {
          return fail("'{}' is not a list of hex bytes", data);
        }
        if (!hex.empty()) {
          bytes.push_back(static_cast<char>(std::stoul(hex, nullptr, 16)));
        }
        hex.clear();
      } else {
        return fail("'{}' is not a list of hex bytes", data);
      }
    }
    return RegValue::binary(bytes);
  }
  return fail("unknown registry type '{}' (sz, expand_sz, dword, qword, multi_sz, binary)", type);
}

// `key` with a first component CurrentControlSet (which offline hives lack) made the control
// set in use.
std::string resolve_control_set(const std::string& key, const WindowsInfo& w)
{
  auto parts = drivers::split_key(key);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string part =
        i == 0 && ascii_lower(parts[i]) == "currentcontrolset" ? w.control_set : parts[i];
    out += (out.empty() ? "" : "\\") + part;
  }
  return out;
}

Result<void> registry(ActionContext& c, const Action& a, ActionRecord& record)
{
  if (!c.inspection.windows) {
    return fail("{}: registry needs a Windows guest", a.location.text());
  }
  const WindowsInfo& w = *c.inspection.windows;
  const bool system = ascii_lower(a.str("hive")) == "system";
  const std::string hive_path = system ? w.system_hive : w.software_hive;
  if (hive_path.empty()) {
    return fail("the guest has no {} hive", a.str("hive"));
  }
  const std::string key = resolve_control_set(a.str("key"), w);
  auto opened = GuestHive::open(c.guest, hive_path, drivers::HiveMode::write);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  drivers::Hive& hive = (*opened)->hive();
  const Vars vars = guest_vars(c);
  if (a.str("delete_key") == "true") {
    if (auto r = hive.delete_key(key); !r) {
      return r;
    }
  }
  for (const auto& name : a.list("delete_values")) {
    if (auto r = hive.delete_value(key, name); !r) {
      return r;
    }
  }
  for (const auto& r : a.records("values")) {
    auto value = registry_value(r, vars);
    if (!value) {
      return fail("{}: {}", r.location.text(), value.error().message);
    }
    if (auto set = hive.set(key, r.str("name"), *value); !set) {
      return set;
    }
  }
  const auto changes = hive.changes();
  if (auto r = (*opened)->upload(c.guest); !r) {
    return r;
  }
  if (changes.empty()) {
    return {};
  }
  FileChange change;
  change.path = hive_path;
  change.kind = "modified";
  change.diff = drivers::format_changes(system ? "HKLM\\SYSTEM" : "HKLM\\SOFTWARE", changes);
  record.changes.push_back(std::move(change));
  record.summary = fmt::format("{}\\{}: {} registry change(s)",
                               system ? "HKLM\\SYSTEM" : "HKLM\\SOFTWARE", key, changes.size());
  return {};
}

std::vector<ActionProblem> check_registry(const Action& a, const ActionSpec&)
{
  std::vector<ActionProblem> problems;
  check_flags(a, {"delete_key"}, problems);
  const std::string hive = ascii_lower(a.str("hive"));
  if (a.has("hive") && hive != "system" && hive != "software") {
    problems.push_back({a.where("hive"), "hive must be SYSTEM or SOFTWARE"});
  }
  if (a.has("key") && drivers::split_key(a.str("key")).empty()) {
    problems.push_back({a.where("key"), "key must name a key below the hive's root"});
  }
  if (!a.has("values") && !a.has("delete_values") && a.str("delete_key") != "true") {
    problems.push_back(
        {a.location, "a registry action needs 'values', 'delete_values' or delete_key: \"true\""});
  }
  if (a.str("delete_key") == "true" && (a.has("values") || a.has("delete_values"))) {
    problems.push_back({a.where("delete_key"),
                        "delete_key deletes the whole key: use a second action for its values"});
  }
  for (const auto& r : a.records("values")) {
    for (const char* field : {"name", "type", "data"}) {
      if (!r.has(field)) {
        problems.push_back({r.location, fmt::format("a registry value needs '{}'", field)});
      }
    }
    if (!r.has("type") || !r.has("data")) {
      continue;
    }
    const std::string type = r.str("type");
    if (type != "sz" && type != "expand_sz" && type != "dword" && type != "qword"
        && type != "multi_sz" && type != "binary") {
      std::string hint =
          did_you_mean(type, {"sz", "expand_sz", "dword", "qword", "multi_sz", "binary"});
      problems.push_back(
          {r.fields.at("type").location,
           fmt::format("unknown registry type '{}'{}", type,
                       hint.empty() ? " (sz, expand_sz, dword, qword, multi_sz, binary)"
                                    : " (did you mean '" + hint + "'?)")});
      continue;
    }
    const bool list = r.fields.at("data").is_list;
    if (list != (r.str("type") == "multi_sz")) {
      problems.push_back(
          {r.fields.at("data").location, list ? "only a multi_sz value's data is a list"
                                              : "a multi_sz value's data is a list of strings"});
      continue;
    }
    // Variables are checked by the loader; their values are not known yet.
    if (r.str("data").find("${") != std::string::npos) {
      continue;
    }
    if (auto v = registry_value(r, {}); !v) {
      problems.push_back({r.fields.at("data").location, v.error().message});
    }
  }
  return problems;
}

} // namespace

std::vector<ActionType> windows_action_types()
{
  return {
      {{"windows_drivers",
        "Make a Windows guest boot on the target: inject the target's driver packages (--drivers "
        "DIR, else the profile's windows.drivers) with boot-start services and device database "
        "entries, disable VMware services, set RealTimeIsUniversal where the target wants UTC, "
        "and register first-boot scripts (pnputil, SAN policy, VMware Tools removal).",
        {},
        {}},
       windows_drivers},
      {{"registry",
        "Windows guests: set registry values, delete values, or delete a key (with its "
        "subkeys) in the SYSTEM or SOFTWARE hive; a first key component CurrentControlSet is the "
        "control set in use. Changes are recorded as readable registry diffs.",
        {ParamSpec{"hive", ParamType::string, true, "SYSTEM or SOFTWARE"},
         ParamSpec{"key", ParamType::string, true,
                   "below the hive's root: CurrentControlSet\\Services\\Tcpip\\Parameters"},
         ParamSpec{"values",
                   ParamType::records,
                   false,
                   "values to set: name (\"\" for the default), type (sz, expand_sz, dword, qword, "
                   "multi_sz, binary), data",
                   {"name", "type", "data"}},
         ParamSpec{"delete_values", ParamType::list, false, "names of values to delete"},
         ParamSpec{"delete_key", ParamType::string, false, "\"true\": delete the key"}},
        guest_var_names(),
        check_registry},
       registry},
  };
}

} // namespace rehost
