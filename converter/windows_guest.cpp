#include "converter/windows_guest.hpp"
#include "converter/text_lines.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace rehost {

namespace {

std::vector<std::string> components(const std::string& path)
{
  std::vector<std::string> parts;
  std::string part;
  for (char c : path) {
    if (c == '/' || c == '\\') {
      if (!part.empty()) {
        parts.push_back(part);
      }
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) {
    parts.push_back(part);
  }
  return parts;
}

// The entry of `dir` named `name` ignoring case (an exact match preferred), or "".
std::string match_entry(Guest& guest, const std::string& dir, const std::string& name)
{
  auto names = guest.list_dir(dir.empty() ? "/" : dir);
  if (!names) {
    return "";
  }
  std::string found;
  for (const auto& n : *names) {
    if (n == name) {
      return n;
    }
    if (found.empty() && ascii_lower(n) == ascii_lower(name)) {
      found = n;
    }
  }
  return found;
}

std::optional<std::string> string_value(const drivers::Hive& hive, const std::string& key,
                                        const std::string& name)
{
  auto v = hive.get(key, name);
  if (!v || !*v) {
    return std::nullopt;
  }
  return (*v)->as_string();
}

std::optional<uint32_t> dword_value(const drivers::Hive& hive, const std::string& key,
                                    const std::string& name)
{
  auto v = hive.get(key, name);
  if (!v || !*v) {
    return std::nullopt;
  }
  return (*v)->as_dword();
}

int to_int(const std::string& s)
{
  try {
    return std::stoi(s);
  } catch (...) {
    return 0;
  }
}

} // namespace

std::optional<std::string> find_path_nocase(Guest& guest, const std::string& path)
{
  std::string current;
  for (const auto& part : components(path)) {
    std::string entry = match_entry(guest, current, part);
    if (entry.empty()) {
      return std::nullopt;
    }
    current += "/" + entry;
  }
  return current.empty() ? "/" : current;
}

std::string resolve_path_nocase(Guest& guest, const std::string& path)
{
  std::string current;
  bool missing = false;
  for (const auto& part : components(path)) {
    std::string entry = missing ? "" : match_entry(guest, current, part);
    if (entry.empty()) {
      missing = true;
      entry = part;
    }
    current += "/" + entry;
  }
  return current.empty() ? "/" : current;
}

HostScratch::HostScratch()
{
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/rehost-hive-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    throw Fatal(ExitCode::internal, fmt::format("cannot create a scratch directory {}", pattern));
  }
  m_path = pattern;
}

HostScratch::~HostScratch()
{
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::vector<std::string> hive_logs(Guest& guest, const std::string& guest_path)
{
  size_t slash = guest_path.rfind('/');
  std::string dir = slash == std::string::npos || slash == 0 ? "/" : guest_path.substr(0, slash);
  std::string name = ascii_lower(guest_path.substr(slash == std::string::npos ? 0 : slash + 1));
  std::vector<std::string> logs;
  auto names = guest.list_dir(dir);
  if (!names) {
    return logs;
  }
  for (const auto& n : *names) {
    std::string l = ascii_lower(n);
    if (l != name + ".log" && l != name + ".log1" && l != name + ".log2") {
      continue;
    }
    std::string path = (dir == "/" ? "" : dir) + "/" + n;
    if (auto info = guest.stat(path); info && info->type == FileType::regular && info->size > 0) {
      logs.push_back(path);
    }
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

const char* const k_unclean_hive_advice =
    "start the source machine and shut it down cleanly, then convert a newer replica, or pass "
    "--discard-hive-logs to convert without those changes";

std::string unclean_hive(Guest& guest, const std::string& guest_path)
{
  auto head = guest.read_head(guest_path, 512);
  if (!head) {
    return "";
  }
  auto header = drivers::read_hive_header(*head);
  if (header.state == drivers::HiveHeaderState::clean
      || header.state == drivers::HiveHeaderState::not_a_hive) {
    return "";
  }
  auto logs = hive_logs(guest, guest_path);
  if (logs.empty()) {
    return "";
  }
  std::string names;
  for (const auto& log : logs) {
    names += (names.empty() ? "" : ", ") + log.substr(log.rfind('/') + 1);
  }
  std::string why = header.state == drivers::HiveHeaderState::unclean
                        ? fmt::format("was not cleanly written (sequence numbers {} and {})",
                                      header.primary_sequence, header.secondary_sequence)
                        : std::string("has a damaged base block (checksum mismatch)");
  return fmt::format("{}: the hive {} and {} hold{} changes it lacks", guest_path, why, names,
                     logs.size() == 1 ? "s" : "");
}

Result<std::unique_ptr<GuestHive>> GuestHive::open(Guest& guest, const std::string& guest_path,
                                                   drivers::HiveMode mode, drivers::HiveLogs logs)
{
  // Editing a hive whose logs hold newer changes would lose them, or corrupt the hive when
  // Windows replays the logs over the edits at its next boot.
  std::vector<std::string> stale_logs;
  if (mode == drivers::HiveMode::write) {
    if (std::string problem = unclean_hive(guest, guest_path); !problem.empty()) {
      if (logs == drivers::HiveLogs::refuse) {
        return fail("{}; {}", problem, k_unclean_hive_advice);
      }
      stale_logs = hive_logs(guest, guest_path);
    }
  }
  auto scratch = std::make_unique<HostScratch>();
  std::string host = scratch->path() + "/hive";
  if (auto got = guest.download(guest_path, host); !got) {
    return fail("cannot read the registry hive {}: {}", guest_path, got.error().message);
  }
  auto hive = drivers::Hive::open(host, mode);
  if (!hive) {
    return fail("{}: corrupt registry hive (hivex cannot open it)", guest_path);
  }
  return std::unique_ptr<GuestHive>(
      new GuestHive(std::move(scratch), guest_path, std::move(*hive), std::move(stale_logs)));
}

Result<void> GuestHive::upload(Guest& guest)
{
  if (m_hive.changes().empty()) {
    return {};
  }
  if (auto committed = m_hive.commit(); !committed) {
    return fail("{}: {}", m_guest_path, committed.error().message);
  }
  std::ifstream in(m_hive.path(), std::ios::binary);
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) {
    return fail("{}: cannot read the committed hive", m_guest_path);
  }
  if (auto written = guest.write_file(m_guest_path, content, 0644); !written) {
    return written;
  }
  for (const auto& log : m_stale_logs) {
    if (auto removed = guest.remove(log); !removed) {
      return fail("{}: cannot remove the discarded log ({})", log, removed.error().message);
    }
  }
  return {};
}

const std::vector<std::pair<std::string, std::string>>& windows_services_of_interest()
{
  static const std::vector<std::pair<std::string, std::string>> k_services = {
      {"VMTools", "vmware"},       {"vmci", "vmware"},      {"vmhgfs", "vmware"},
      {"vmmouse", "vmware"},       {"vm3dmp", "vmware"},    {"vmxnet3ndis6", "vmware"},
      {"pvscsi", "vmware"},        {"vsock", "vmware"},     {"VGAuthService", "vmware"},
      {"vmbus", "hyperv"},         {"storvsc", "hyperv"},   {"netvsc", "hyperv"},
      {"vmicheartbeat", "hyperv"}, {"xenbus", "xen"},       {"xenvbd", "xen"},
      {"xennet", "xen"},           {"xeniface", "xen"},     {"xenfilt", "xen"},
      {"LiteAgent", "xen"},        {"AWSLiteAgent", "xen"}, {"viostor", "virtio"},
      {"vioscsi", "virtio"},       {"netkvm", "virtio"},    {"balloon", "virtio"},
      {"stornvme", "nvme"},        {"AWSNVMe", "nvme"},     {"ena", "ena"},
  };
  return k_services;
}

bool inspect_windows(Guest& guest, Inspection& out)
{
  std::optional<std::string> root;
  for (const char* candidate : {"/Windows", "/WINNT"}) {
    if (auto found = find_path_nocase(guest, candidate); found && is_dir(guest, *found)) {
      root = found;
      break;
    }
  }
  if (!root) {
    return false;
  }
  auto system = find_path_nocase(guest, *root + "/System32/config/SYSTEM");
  if (!system || !is_file(guest, *system)) {
    return false;
  }
  WindowsInfo win;
  win.system_root = *root;
  win.system_hive = *system;
  win.software_hive = find_path_nocase(guest, *root + "/System32/config/SOFTWARE").value_or("");
  std::string dir_name = root->substr(1);
  win.system_root_win = "C:\\" + dir_name;

  out.os = OsIdentity{};
  out.os.type = "windows";
  out.os.id = "windows";
  out.os.family = "windows";
  out.os.source = *system;
  out.package_manager = "";

  // A hive whose two sequence numbers differ was being written when the copy was taken: the
  // last changes are only in its .LOG1/.LOG2 files, which hivex does not replay. Reading it as
  // it is gives the state before those changes; a conversion refuses to edit it.
  for (const auto& path : {*system, win.software_hive}) {
    if (path.empty()) {
      continue;
    }
    if (std::string problem = unclean_hive(guest, path); !problem.empty()) {
      out.warnings.push_back(
          fmt::format("{}; read without them, and a conversion refuses to edit it", problem));
      win.unclean_hives.push_back(problem);
      continue;
    }
    auto head = guest.read_head(path, 512);
    if (head && drivers::read_hive_header(*head).state == drivers::HiveHeaderState::unclean) {
      out.warnings.push_back(fmt::format("{}: the hive was not cleanly written (sequence numbers "
                                         "differ) and has no transaction log: read as it is",
                                         path));
    }
  }
  if (auto opened = GuestHive::open(guest, *system, drivers::HiveMode::read_only)) {
    const auto& hive = (*opened)->hive();
    uint32_t current = dword_value(hive, "Select", "Current").value_or(1);
    win.control_set = fmt::format("ControlSet{:03}", current);
    if (!hive.has_key(win.control_set)) {
      out.warnings.push_back(
          fmt::format("{}: Select\\Current names {}, which is missing", *system, win.control_set));
    }
    win.driver_database = hive.has_key("DriverDatabase");
    std::string services = win.control_set + "\\Services";
    for (const auto& [name, platform] : windows_services_of_interest()) {
      if (hive.has_key(services + "\\" + name)) {
        win.services[name] = dword_value(hive, services + "\\" + name, "Start").value_or(3);
        win.platforms[name] = platform;
      }
    }
    std::string env = win.control_set + "\\Control\\Session Manager\\Environment";
    std::string arch = string_value(hive, env, "PROCESSOR_ARCHITECTURE").value_or("");
    if (arch == "AMD64") {
      out.os.arch = "x86_64";
    } else if (arch == "x86") {
      out.os.arch = "i386";
    } else if (arch == "ARM64") {
      out.os.arch = "aarch64";
    }
  } else {
    out.warnings.push_back(opened.error().message);
  }
  if (out.os.arch.empty()) {
    out.os.arch = find_path_nocase(guest, *root + "/SysWOW64") ? "x86_64" : "";
  }

  if (win.software_hive.empty()) {
    out.warnings.push_back(fmt::format("{}: no SOFTWARE hive", *root + "/System32/config"));
  } else if (auto opened =
                 GuestHive::open(guest, win.software_hive, drivers::HiveMode::read_only)) {
    const auto& hive = (*opened)->hive();
    const std::string cv = "Microsoft\\Windows NT\\CurrentVersion";
    win.product_name = string_value(hive, cv, "ProductName").value_or("");
    win.edition_id = string_value(hive, cv, "EditionID").value_or("");
    win.installation_type = string_value(hive, cv, "InstallationType").value_or("");
    if (auto major = dword_value(hive, cv, "CurrentMajorVersionNumber")) {
      win.major = static_cast<int>(*major);
      win.minor = static_cast<int>(dword_value(hive, cv, "CurrentMinorVersionNumber").value_or(0));
    } else if (auto version = string_value(hive, cv, "CurrentVersion")) {
      size_t dot = version->find('.');
      win.major = to_int(version->substr(0, dot));
      win.minor = dot == std::string::npos ? 0 : to_int(version->substr(dot + 1));
    }
    win.build = to_int(string_value(hive, cv, "CurrentBuildNumber")
                           .value_or(string_value(hive, cv, "CurrentBuild").value_or("0")));
    if (auto sysroot = string_value(hive, cv, "SystemRoot")) {
      win.system_root_win = *sysroot;
    }
  } else {
    out.warnings.push_back(opened.error().message);
  }
  if (!win.installation_type.empty()) {
    win.edition = win.installation_type.rfind("Server", 0) == 0 ? "server" : "client";
  } else if (!win.product_name.empty()) {
    win.edition = win.product_name.find("Server") != std::string::npos ? "server" : "client";
  }
  // Windows 11 still calls itself "Windows 10" in ProductName; its build number tells.
  if (win.edition == "client" && win.build >= 22000
      && win.product_name.rfind("Windows 10", 0) == 0) {
    win.product_name.replace(0, 10, "Windows 11");
  }
  out.os.name = win.product_name.empty() ? "Windows" : win.product_name;
  out.os.pretty_name = out.os.name;
  out.os.codename = win.edition_id;
  if (win.major) {
    out.os.major = win.major;
    out.os.minor = win.minor;
    out.os.version_id = fmt::format("{}.{}", win.major, win.minor);
    if (win.build) {
      out.os.version_id += fmt::format(".{}", win.build);
    }
  }
  out.windows = std::move(win);
  for (const auto& [name, platform] : out.windows->platforms) {
    std::string tool = platform == "vmware" && name == "VMTools" ? "vmware-tools"
                       : platform == "xen" && (name == "LiteAgent" || name == "AWSLiteAgent")
                           ? "xen-tools"
                           : "";
    if (!tool.empty()) {
      out.hypervisor_tools.push_back(tool);
    }
  }
  // An ESP on the disk means UEFI; a Windows root has no /boot/efi to look at.
  out.firmware = "bios";
  for (const auto& table : out.disk.tables) {
    for (const auto& p : table.partitions) {
      for (const auto& flag : p.flags) {
        if (flag == "esp") {
          out.firmware = "uefi";
        }
      }
    }
  }
  out.bootloader = "bootmgr";
  return true;
}

} // namespace rehost
