// The action that registers a Linux first-boot script.
//
// Some changes can only happen on the target itself: an agent that must see the new platform's
// metadata service, a package tool that needs the network. Each firstboot action writes one
// script as /usr/lib/rehost/firstboot/NN-NAME.sh; the first one also writes a runner and what
// starts it once at boot: a systemd oneshot unit enabled by a symbolic link (no systemctl in the
// guest), else a line in rc.local, else a SysV init script with its rcN.d links. The runner runs
// the scripts in name order (NN first, in the C locale, so the order does not depend on the
// order of the rules), appends their output to /var/log/rehost-firstboot.log and each exit
// status to /var/lib/rehost/firstboot-status, and then removes what starts it.
#include "converter/action_support.hpp"

#include "converter/text_lines.hpp"

namespace rehost {

namespace {

constexpr const char* k_script_dir = "/usr/lib/rehost/firstboot";
constexpr const char* k_runner = "/usr/lib/rehost/rehost-firstboot";
constexpr const char* k_unit = "/etc/systemd/system/rehost-firstboot.service";
constexpr const char* k_unit_link =
    "/etc/systemd/system/multi-user.target.wants/rehost-firstboot.service";
constexpr const char* k_init_script = "/etc/init.d/rehost-firstboot";

constexpr const char* k_runner_text = R"(#!/bin/sh
# rehost first boot: runs the scripts of /usr/lib/rehost/firstboot once each, in name order,
# logs their output to /var/log/rehost-firstboot.log and their exit status to
# /var/lib/rehost/firstboot-status, then removes what starts it.
LC_ALL=C
export LC_ALL
dir=/usr/lib/rehost/firstboot
log=/var/log/rehost-firstboot.log
state=/var/lib/rehost
[ -e "$state/firstboot-done" ] && exit 0
mkdir -p "$state"
for script in "$dir"/*.sh; do
  [ -f "$script" ] || continue
  name=${script##*/}
  grep -q "^$name " "$state/firstboot-status" 2>/dev/null && continue
  echo "$(date '+%F %T') running $name" >>"$log"
  "$script" >>"$log" 2>&1
  status=$?
  echo "$(date '+%F %T') $name exited with status $status" >>"$log"
  echo "$name $status" >>"$state/firstboot-status"
done
touch "$state/firstboot-done"
rm -f /etc/systemd/system/multi-user.target.wants/rehost-firstboot.service
rm -f /etc/rc[0-6].d/S99rehost-firstboot /etc/rc.d/rc[0-6].d/S99rehost-firstboot
for rc in /etc/rc.local /etc/rc.d/rc.local; do
  if [ -f "$rc" ] && [ ! -L "$rc" ]; then
    sed -i '/rehost-firstboot/d' "$rc"
  fi
done
exit 0
)";

constexpr const char* k_unit_text = R"([Unit]
Description=rehost first-boot scripts
Wants=network-online.target
After=network-online.target
ConditionPathExists=!/var/lib/rehost/firstboot-done

[Service]
Type=oneshot
ExecStart=/usr/lib/rehost/rehost-firstboot
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
)";

constexpr const char* k_init_text = R"(#!/bin/sh
### BEGIN INIT INFO
# Provides:          rehost-firstboot
# Required-Start:    $remote_fs $network
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:
# Short-Description: rehost first-boot scripts
### END INIT INFO
# chkconfig: 2345 99 01
case "$1" in
start) /usr/lib/rehost/rehost-firstboot ;;
esac
exit 0
)";

Result<void> add_link(ActionContext& c, ActionRecord& record, const std::string& target,
                      const std::string& path)
{
  auto old = c.guest.read_link(path);
  if (old && *old == target) {
    return {};
  }
  if (auto r = c.guest.make_dirs(path.substr(0, path.rfind('/'))); !r) {
    return r;
  }
  if (auto r = c.guest.make_symlink(target, path); !r) {
    return r;
  }
  FileChange change;
  change.path = path;
  change.kind = "created";
  change.diff = fmt::format("symbolic link {} -> {}\n", path, target);
  record.changes.push_back(std::move(change));
  return {};
}

// Whether the guest boots with systemd. /sbin/init says which init it runs: systemd may be
// installed without being the init (Debian with sysvinit-core).
bool has_systemd(Guest& guest)
{
  if (auto target = guest.read_link("/sbin/init")) {
    return target->find("systemd") != std::string::npos;
  }
  auto init = guest.lstat("/sbin/init");
  if (init && init->type == FileType::regular) {
    return false;
  }
  return exists(guest, "/usr/lib/systemd/systemd") || exists(guest, "/lib/systemd/systemd");
}

// rc.local with the runner's line, before a final "exit 0".
std::string with_runner_line(const std::string& text)
{
  if (text.find("rehost-firstboot") != std::string::npos) {
    return text;
  }
  const std::string line = std::string(k_runner) + "\n";
  auto lines = lines_of(text);
  if (!lines.empty() && lines.back().back() != '\n') {
    lines.back() += "\n";
  }
  size_t at = lines.size();
  for (size_t i = lines.size(); i-- > 0;) {
    std::string l = lines[i];
    l.erase(0, l.find_first_not_of(" \t"));
    if (l.empty() || l == "\n" || l[0] == '#') {
      continue;
    }
    if (l.rfind("exit 0", 0) == 0) {
      at = i;
    }
    break;
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), line);
  std::string out;
  for (const auto& l : lines) {
    out += l;
  }
  return out;
}

// What starts the runner at boot; a description of it for the summary.
Result<std::string> register_runner(ActionContext& c, ActionRecord& record)
{
  if (has_systemd(c.guest)) {
    if (auto r = write_guest_file(c, record, k_unit, k_unit_text, 0644); !r) {
      return std::unexpected(r.error());
    }
    if (auto r = add_link(c, record, k_unit, k_unit_link); !r) {
      return std::unexpected(r.error());
    }
    return std::string("systemd unit rehost-firstboot.service");
  }
  for (const char* rc : {"/etc/rc.d/rc.local", "/etc/rc.local"}) {
    auto info = c.guest.lstat(rc);
    if (info && info->type == FileType::regular) {
      auto transform = [](const std::string& text) -> Result<std::string> {
        return with_runner_line(text);
      };
      if (auto r = edit_guest_file(c, record, rc, MissingFile::skip, transform); !r) {
        return std::unexpected(r.error());
      }
      return std::string(rc);
    }
  }
  std::vector<std::string> runlevels;
  for (const char* base : {"/etc/rc.d/rc", "/etc/rc"}) {
    for (const char* level : {"2", "3", "4", "5"}) {
      std::string dir = std::string(base) + level + ".d";
      auto info = c.guest.lstat(dir);
      if (info && info->type == FileType::directory) {
        runlevels.push_back(dir);
      }
    }
    if (!runlevels.empty()) {
      break;
    }
  }
  if (!is_dir(c.guest, "/etc/init.d") || runlevels.empty()) {
    return fail("the guest has neither systemd, nor rc.local, nor SysV runlevel directories: "
                "there is nothing to run a first-boot script");
  }
  if (auto r = write_guest_file(c, record, k_init_script, k_init_text, 0755); !r) {
    return std::unexpected(r.error());
  }
  for (const auto& dir : runlevels) {
    if (auto r = add_link(c, record, "../init.d/rehost-firstboot", dir + "/S99rehost-firstboot");
        !r) {
      return std::unexpected(r.error());
    }
  }
  return std::string("SysV init script rehost-firstboot");
}

std::string script_name(const Action& a)
{
  std::string order = a.str("order", "50");
  if (order.size() < 2) {
    order = "0" + order;
  }
  return order + "-" + a.str("name") + ".sh";
}

Result<void> firstboot(ActionContext& c, const Action& a, ActionRecord& record)
{
  if (c.inspection.windows) {
    return fail("{}: firstboot registers Linux scripts; Windows guests get theirs from "
                "windows_drivers",
                a.location.text());
  }
  auto text = content_or_source(a);
  if (!text) {
    return std::unexpected(text.error());
  }
  const std::string script = std::string(k_script_dir) + "/" + script_name(a);
  // What starts the runner first: a guest with no way to run it is left unchanged.
  auto how = register_runner(c, record);
  if (!how) {
    return std::unexpected(how.error());
  }
  if (auto r = write_guest_file(c, record, k_runner, k_runner_text, 0755); !r) {
    return r;
  }
  if (auto r = write_guest_file(c, record, script, substitute(*text, guest_vars(c)), 0755); !r) {
    return r;
  }
  record.summary = fmt::format("first-boot script {} (run by {})", script, *how);
  record.details["firstboot"] = nlohmann::json::array({script}); // as windows_drivers: a list
  return {};
}

std::vector<ActionProblem> check_firstboot(const Action& a, const ActionSpec& spec)
{
  std::vector<ActionProblem> problems;
  check_content_or_source(a, spec, problems);
  const std::string name = a.str("name");
  if (a.has("name")
      && (name.empty()
          || name.find_first_not_of(
                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                 != std::string::npos)) {
    problems.push_back({a.where("name"), "name may hold only letters, digits, '-' and '_'"});
  }
  const std::string order = a.str("order");
  if (a.has("order")
      && (order.empty() || order.size() > 2
          || order.find_first_not_of("0123456789") != std::string::npos)) {
    problems.push_back({a.where("order"), "order must be a number from 0 to 99"});
  }
  return problems;
}

} // namespace

std::vector<ActionType> firstboot_action_types()
{
  return {
      {{"firstboot",
        "Register a script that runs once at the first boot on the target, after the scripts of "
        "lower order (then by name): /usr/lib/rehost/firstboot/NN-NAME.sh, started by a systemd "
        "oneshot unit (else rc.local, else a SysV init script), logged to "
        "/var/log/rehost-firstboot.log with each exit status in /var/lib/rehost/firstboot-status.",
        {ParamSpec{"name", ParamType::string, true, "the script's name (letters, digits, - and _)"},
         ParamSpec{"order", ParamType::string, false, "0 to 99 (default 50): lower runs first"},
         ParamSpec{"content", ParamType::string, false, "the script (or source)"},
         ParamSpec{"source", ParamType::string, false,
                   "a file holding the script, relative to the rule file"}},
        guest_var_names(),
        check_firstboot},
       firstboot},
  };
}

} // namespace rehost
