// Actions on the network configuration.
#include "converter/action_support.hpp"

#include "converter/ifupdown.hpp"

namespace rehost {

namespace {

// --- network_dhcp --------------------------------------------------------------------------------

Result<void> network_dhcp(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string style = a.str("style");
  const std::string path = a.str("path");
  if (style != "ifupdown") {
    return fail("{}: network_dhcp style '{}' is not supported (supported: ifupdown)",
                a.location.text(), style);
  }
  if (c.target.first_interface.empty()) {
    record.notes.push_back("the target names no first interface; network left as it is");
    return {};
  }
  std::string old_name;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    old_name = ifupdown_primary_interface(text);
    return ifupdown_dhcp(text, c.target.first_interface);
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary =
        fmt::format("{}: {} is now {} with DHCP", path, old_name, c.target.first_interface);
  }
  return {};
}

} // namespace

std::vector<ActionType> network_action_types()
{
  return {
      {{"network_dhcp",
        "Configure DHCP on the target's first interface, replacing the old primary interface's "
        "configuration.",
        {ParamSpec{"style", ParamType::string, true, "network configuration style: ifupdown"},
         ParamSpec{"path", ParamType::string, true, "the configuration file"}},
        {}},
       network_dhcp},
  };
}

} // namespace rehost
