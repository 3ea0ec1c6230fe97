// Where each initramfs tool keeps the modules it must always include, and editors that add
// names there. Pure text-to-text; everything not touched stays byte for byte.
//
//   lines       /etc/initramfs-tools/modules: one module per line (Debian, Ubuntu)
//   dracut      a drop-in in /etc/dracut.conf.d/ with add_drivers+=" ... " (RHEL family,
//               Fedora, SUSE >= 12, Debian with dracut); rehost owns the whole file
//   shell_list  a shell variable holding a space-separated list: INITRD_MODULES in
//               /etc/sysconfig/kernel (SUSE before 12, mkinitrd)
//   bash_array  a bash array: MODULES=(...) in /etc/mkinitcpio.conf (Arch)
#pragma once

#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost::drivers {

enum class ModulesFormat { lines, dracut, shell_list, bash_array };

// "lines", "dracut", "shell_list", "bash_array".
Result<ModulesFormat> parse_modules_format(const std::string& name);

struct ModulesEdit {
  std::string text;
  std::vector<std::string> added; // the names that were not listed yet
  std::string problem;            // why nothing could be added ("" when all is well)
};

// Adds `modules` (those not already listed, '-' and '_' being the same) to `text`. `variable`
// names the variable for shell_list and bash_array; `comment` heads what is added where the
// format allows comments.
ModulesEdit add_modules(ModulesFormat format, const std::string& text,
                        const std::vector<std::string>& modules, const std::string& variable,
                        const std::string& comment);

} // namespace rehost::drivers
