#include "bootloader/cmdline_edit.hpp"

#include "bootloader/kernel_cmdline.hpp"

namespace rehost::bootloader {

std::string edit_cmdline(const std::string& cmdline, const CmdlineEdit& edit)
{
  KernelCmdline c(cmdline);
  for (const auto& key : edit.remove) {
    c.remove(key);
  }
  for (const auto& text : edit.set) {
    auto arg = parse_kernel_arg(text);
    c.set(arg.key, arg.value);
  }
  if (edit.devices) {
    for (const char* key : {"root", "resume"}) {
      if (auto dev = c.get(key)) {
        if (auto stable = edit.devices(*dev)) {
          c.set(key, *stable);
        }
      }
    }
  }
  for (const auto& text : edit.add) {
    c.add(parse_kernel_arg(text));
  }
  if (c.text() == KernelCmdline(cmdline).text()) {
    return cmdline;
  }
  return c.text();
}

bool is_empty(const CmdlineEdit& edit)
{
  return edit.remove.empty() && edit.set.empty() && edit.add.empty() && !edit.devices;
}

} // namespace rehost::bootloader
