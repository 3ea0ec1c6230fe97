#include "bootloader/crypttab.hpp"

#include "bootloader/device_names.hpp"
#include "bootloader/fstab.hpp"

#include <fmt/format.h>

namespace rehost::bootloader {

CrypttabResult crypttab_to_stable(const std::string& text, const DeviceLookup& lookup)
{
  CrypttabResult result;
  std::vector<FstabEdit> edits;
  for (const auto& e : parse_fstab(text)) {
    if (e.fields.size() < 2) {
      continue;
    }
    const std::string& device = e.fields[1].text;
    auto kind = classify_device_name(device).kind;
    if (kind == DeviceNameKind::other || kind == DeviceNameKind::stable) {
      continue;
    }
    if (auto stable = lookup.stable ? lookup.stable(device) : std::nullopt) {
      edits.push_back({e.line, 1, *stable});
      ++result.rewritten;
      continue;
    }
    if (lookup.resolves && lookup.resolves(device)) {
      continue;
    }
    std::string options = e.fields.size() > 3 ? e.fields[3].text : "";
    bool has_nofail = false;
    size_t start = 0;
    while (start <= options.size() && !options.empty()) {
      size_t end = std::min(options.find(',', start), options.size());
      has_nofail = has_nofail || options.substr(start, end - start) == "nofail";
      start = end + 1;
    }
    if (has_nofail) {
      continue;
    }
    result.nofail.push_back(fmt::format("line {}: {}", e.line, device));
    if (e.fields.size() > 3) {
      edits.push_back({e.line, 3, options + ",nofail"});
    } else {
      // No options field (and maybe no key file): append them to the last field.
      const auto& last = e.fields.back();
      edits.push_back({e.line, e.fields.size() - 1,
                       last.text + (e.fields.size() == 2 ? "\tnone\tnofail" : "\tnofail")});
    }
  }
  result.text = apply_fstab_edits(text, edits);
  return result;
}

std::vector<DeviceMapEntry> parse_device_map(const std::string& text)
{
  std::vector<DeviceMapEntry> out;
  for (const auto& e : parse_fstab(text)) {
    if (e.fields.size() >= 2 && e.fields[0].text.starts_with("(")) {
      out.push_back({e.fields[0].text, e.fields[1].text, e.line});
    }
  }
  return out;
}

std::string rewrite_device_map(const std::string& text, const DeviceRewriter& rename)
{
  std::vector<FstabEdit> edits;
  for (const auto& e : parse_fstab(text)) {
    if (e.fields.size() >= 2 && e.fields[0].text.starts_with("(")) {
      if (auto name = rename(e.fields[1].text)) {
        edits.push_back({e.line, 1, *name});
      }
    }
  }
  return apply_fstab_edits(text, edits);
}

} // namespace rehost::bootloader
