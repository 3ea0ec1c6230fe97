// Boot menus other than a generated grub.cfg: Boot Loader Specification entries (grub2 with
// blscfg on RHEL 8+ and Fedora 30+, systemd-boot), grubenv, grub legacy's menu.lst/grub.conf,
// extlinux/syslinux configs and systemd-boot's loader.conf.
//
// Pure text readers for inspection: each returns the entries in file order and the default as
// written; choosing the default entry is default_menu_entry()'s job. The editors of the same
// files (bls.hpp, grubenv.hpp, grub_legacy.hpp, extlinux.hpp) keep each line's position instead.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rehost::bootloader {

struct MenuEntry {
  std::string id;      // BLS: file name without ".conf"; extlinux: LABEL; grub legacy: ""
  std::string title;   // BLS title, grub legacy title, extlinux MENU LABEL (or LABEL)
  std::string version; // BLS version
  std::string kernel;  // path of the kernel image as written
  std::string args;    // kernel arguments as written ($vars not expanded)
  std::vector<std::string> initrds;
};

struct BootMenu {
  std::vector<MenuEntry> entries;
  std::string default_value; // as written: "0", "saved", a label, a glob, ""
};

// One BLS entry file (/boot/loader/entries/ID.conf): title, version, linux, initrd, options.
MenuEntry read_bls_entry(const std::string& id, const std::string& text);

// grubenv: "name=value" lines (value to the end of the line), comments and '#' padding skipped.
std::map<std::string, std::string> read_grubenv(const std::string& text);

// Replaces $name and ${name} with values from `vars` (grubenv's kernelopts, tuned_params, ...);
// unknown names become empty, as grub does; the result has single spaces between words.
std::string expand_grub_vars(const std::string& args,
                             const std::map<std::string, std::string>& vars);

// grub legacy menu.lst / grub.conf: "title", "kernel", "initrd", "default N" or "default saved".
BootMenu read_grub_legacy_menu(const std::string& text);

// extlinux.conf / syslinux.cfg: LABEL, KERNEL/LINUX, APPEND, INITRD, DEFAULT, MENU DEFAULT.
// Keywords are case-insensitive.
BootMenu read_extlinux_menu(const std::string& text);

// systemd-boot loader.conf: the "default" pattern ("" when none).
std::string loader_conf_default(const std::string& text);

// The entry `menu.default_value` designates: an index ("0"), an id or title, or a glob over
// ids (systemd-boot); the first entry when the value is empty or matches nothing.
std::optional<MenuEntry> default_menu_entry(const BootMenu& menu);

} // namespace rehost::bootloader
