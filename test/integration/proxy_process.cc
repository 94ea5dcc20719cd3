#include "test/integration/proxy_process.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace remora::test {

std::string remoraBinary() { return "source/exe/remora"; }

std::string makeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/remora.XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  return mkdtemp(buf.data());
}

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

static std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult runCommand(const std::vector<std::string>& argv) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return result;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    close(pipe_fds[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof(buf))) > 0) result.output.append(buf, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ProxyProcess::start(const std::string& config_yaml, std::vector<std::string> extra_args,
                         std::string& error, bool wait_ready) {
  dir_ = makeTempDir();
  std::string config_path = dir_ + "/config.yaml";
  std::string admin_path = dir_ + "/admin_address";
  writeFile(config_path, config_yaml);
  std::vector<std::string> argv = {remoraBinary(), "-c", config_path, "--admin-address-path",
                                   admin_path};
  for (auto& a : extra_args) argv.push_back(std::move(a));
  std::string log_path = dir_ + "/remora.log";
  pid_ = fork();
  if (pid_ == 0) {
    int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (descriptor_limit_ != 0) {
      rlimit limit{static_cast<rlim_t>(descriptor_limit_), static_cast<rlim_t>(descriptor_limit_)};
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  bool have_address = waitFor([&] {
    if (waitExit(std::chrono::milliseconds(0))) return true;
    std::string text = readFile(admin_path);
    if (text.empty() || text.back() != '\n') return false;
    admin_address_ = text.substr(0, text.size() - 1);
    return true;
  });
  if (exited_ || !have_address) {
    error = "remora did not start; log:\n" + log();
    return false;
  }
  if (wait_ready && !waitFor([&] { return admin("GET", "/ready").status == 200; })) {
    error = "remora never became ready; log:\n" + log();
    return false;
  }
  return true;
}

uint16_t ProxyProcess::listenerPort(const std::string& name) {
  std::istringstream lines(admin("GET", "/listeners").body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + "::", 0) == 0) {
      return static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    }
  }
  return 0;
}

std::optional<double> ProxyProcess::metric(const std::string& sample) const {
  std::istringstream lines(admin("GET", "/stats/prometheus").body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return std::nullopt;
}

uint64_t ProxyProcess::residentBytes() const {
  std::istringstream lines(readFile("/proc/" + std::to_string(pid_) + "/status"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::chrono::milliseconds ProxyProcess::cpuTime() const {
  std::string stat = readFile("/proc/" + std::to_string(pid_) + "/stat");
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return std::chrono::milliseconds(0);
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  long ticks = sysconf(_SC_CLK_TCK);
  return std::chrono::milliseconds((utime + stime) * 1000 / static_cast<uint64_t>(ticks));
}

void ProxyProcess::signal(int sig) const { kill(pid_, sig); }

std::optional<int> ProxyProcess::waitExit(std::chrono::milliseconds timeout) {
  std::optional<int> code;
  waitFor(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
        exited_ = true;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
      },
      timeout);
  return code;
}

std::string ProxyProcess::log() const { return readFile(dir_ + "/remora.log"); }

}  // namespace remora::test
