#include "bootloader/kernel_cmdline.hpp"

namespace rehost::bootloader {

std::string KernelArg::text() const
{
  if (!value) {
    return key;
  }
  if (value->find_first_of(" \t") != std::string::npos) {
    return key + "=\"" + *value + "\"";
  }
  return key + "=" + *value;
}

KernelArg parse_kernel_arg(const std::string& text)
{
  KernelArg arg;
  size_t eq = text.find('=');
  if (eq == std::string::npos) {
    arg.key = text;
    return arg;
  }
  arg.key = text.substr(0, eq);
  std::string value = text.substr(eq + 1);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  arg.value = value;
  return arg;
}

KernelCmdline::KernelCmdline(const std::string& text)
{
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) {
      ++i;
    }
    if (i >= text.size()) {
      break;
    }
    std::string word;
    bool quoted = false;
    while (i < text.size() && (quoted || (text[i] != ' ' && text[i] != '\t' && text[i] != '\n'))) {
      if (text[i] == '"') {
        quoted = !quoted;
      }
      word += text[i++];
    }
    m_args.push_back(parse_kernel_arg(word));
  }
}

std::optional<std::string> KernelCmdline::get(const std::string& key) const
{
  std::optional<std::string> found;
  for (const auto& a : m_args) {
    if (a.key == key) {
      found = a.value.value_or("");
    }
  }
  return found;
}

bool KernelCmdline::has(const std::string& key) const
{
  return get(key).has_value();
}

int KernelCmdline::remove(const std::string& key)
{
  auto before = m_args.size();
  std::erase_if(m_args, [&](const KernelArg& a) { return a.key == key; });
  return static_cast<int>(before - m_args.size());
}

int KernelCmdline::remove_exact(const KernelArg& arg)
{
  auto before = m_args.size();
  std::erase_if(m_args,
                [&](const KernelArg& a) { return a.key == arg.key && a.value == arg.value; });
  return static_cast<int>(before - m_args.size());
}

void KernelCmdline::set(const std::string& key, const std::optional<std::string>& value)
{
  bool done = false;
  std::vector<KernelArg> out;
  for (auto& a : m_args) {
    if (a.key != key) {
      out.push_back(std::move(a));
    } else if (!done) {
      out.push_back({key, value});
      done = true;
    }
  }
  if (!done) {
    out.push_back({key, value});
  }
  m_args = std::move(out);
}

void KernelCmdline::add(const KernelArg& arg)
{
  for (const auto& a : m_args) {
    if (a.key == arg.key && a.value == arg.value) {
      return;
    }
  }
  m_args.push_back(arg);
}

std::string KernelCmdline::text() const
{
  std::string out;
  for (const auto& a : m_args) {
    if (!out.empty()) {
      out += ' ';
    }
    out += a.text();
  }
  return out;
}

} // namespace rehost::bootloader
