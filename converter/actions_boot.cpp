// Actions on the boot configuration: kernel command lines.
#include "converter/action_support.hpp"

#include "bootloader/kernel_cmdline.hpp"
#include "converter/shell_vars.hpp"

namespace rehost {

namespace {

// --- kernel_args ---------------------------------------------------------------------------------

Result<void> kernel_args(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const auto variables = a.list("variables");
  std::vector<std::string> remove = c.target.kernel_args_remove;
  for (const auto& r : a.list("remove")) {
    remove.push_back(r);
  }
  std::vector<std::string> add = c.target.kernel_args_add;
  for (const auto& x : expand(a.list("add"), target_vars(c))) {
    add.push_back(x);
  }
  std::vector<std::string> done;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    std::string out = text;
    for (size_t i = 0; i < variables.size(); ++i) {
      auto value = shell_var(out, variables[i]);
      if (!value && i > 0) {
        continue;
      }
      bootloader::KernelCmdline cmdline(value.value_or(""));
      for (const auto& key : remove) {
        cmdline.remove(key);
      }
      for (const char* key : {"root", "resume"}) {
        if (auto dev = cmdline.get(key)) {
          if (auto stable = stable_device_name(c.inspection.disk, *dev)) {
            cmdline.set(key, *stable);
            done.push_back(fmt::format("{}={} to {}", key, *dev, *stable));
          }
        }
      }
      if (i == 0) {
        for (const auto& arg : add) {
          cmdline.add(bootloader::parse_kernel_arg(arg));
        }
      }
      if (!value || cmdline.text() != bootloader::KernelCmdline(*value).text()) {
        out = set_shell_var(out, variables[i], cmdline.text());
      }
    }
    return out;
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: kernel arguments {}", path, join(add));
    if (!done.empty()) {
      record.summary += "; " + join(done, ", ");
    }
  }
  return {};
}

} // namespace

std::vector<ActionType> boot_action_types()
{
  return {
      {{"kernel_args",
        "Edit kernel command lines kept in shell variables (/etc/default/grub): remove the "
        "target's "
        "removed keys from every variable, rewrite root= and resume= to UUID=, and add the "
        "target's "
        "arguments (and `add`) to the first variable.",
        {ParamSpec{"path", ParamType::string, true, "the file"},
         ParamSpec{"variables", ParamType::list, true,
                   "variables holding command lines; the first gets additions"},
         ParamSpec{"add", ParamType::list, false, "extra arguments to add"},
         ParamSpec{"remove", ParamType::list, false, "extra argument keys to remove"}},
        {"target.console"}},
       kernel_args},
  };
}

} // namespace rehost
