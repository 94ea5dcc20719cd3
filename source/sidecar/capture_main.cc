#include "source/sidecar/capture_main.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "source/sidecar/capture_rules.h"

namespace remora::sidecar {
namespace {

struct Result {
  int status = -1;
  std::string output;
};

// Runs `program args...` with stdout and stderr captured; no shell.
Result run(const std::string& program, const Command& args) {
  Result result;
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return result;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return result;
  }
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execvp(program.c_str(), argv.data());
    std::fprintf(stderr, "cannot run %s\n", program.c_str());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) result.output.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string shellLine(const std::string& program, const Command& args) {
  std::string line = program;
  for (const auto& arg : args) {
    bool plain = arg.find_first_of(" *'\"$") == std::string::npos;
    line += " " + (plain ? arg : "'" + arg + "'");
  }
  return line;
}

// Wait for the xtables lock instead of failing when another tool holds it.
Command withWait(Command args) {
  args.insert(args.begin(), "-w");
  return args;
}

class Runner {
 public:
  Runner(bool dry_run, std::ostream& out, std::ostream& err)
      : dry_run_(dry_run), out_(out), err_(err) {}

  // Removes the jumps (every copy) and our chains; what is absent is skipped.
  void clean(const std::string& program) {
    for (const auto& jump : jumpRules()) {
      Command check = jump, remove = jump;
      check.insert(check.begin() + 2, "-C");
      remove.insert(remove.begin() + 2, "-D");
      if (dry_run_) {
        out_ << shellLine(program, remove) << "    # while present\n";
        continue;
      }
      for (int i = 0; i < 64 && run(program, withWait(check)).status == 0; ++i) {
        run(program, withWait(remove));
      }
    }
    for (const auto& chain : chainNames()) {
      Command flush = {"-t", "nat", "-F", chain};
      Command remove = {"-t", "nat", "-X", chain};
      if (dry_run_) {
        out_ << shellLine(program, flush) << "    # if present\n"
             << shellLine(program, remove) << "    # if present\n";
        continue;
      }
      if (run(program, withWait({"-t", "nat", "-S", chain})).status != 0) continue;
      must(program, flush);
      must(program, remove);
    }
  }

  void install(const std::string& program, const std::vector<Command>& commands) {
    for (const auto& command : commands) {
      if (dry_run_) {
        out_ << shellLine(program, command) << "\n";
      } else {
        must(program, command);
      }
    }
  }

  bool failed() const { return failed_; }

 private:
  void must(const std::string& program, const Command& command) {
    if (failed_) return;
    Result result = run(program, withWait(command));
    if (result.status == 0) return;
    failed_ = true;
    err_ << "remora iptables: `" << shellLine(program, command) << "` failed (exit "
         << result.status << "): " << result.output;
  }

  bool dry_run_;
  std::ostream& out_;
  std::ostream& err_;
  bool failed_ = false;
};

}  // namespace

int runCaptureCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      out << captureUsage();
      return 0;
    }
  }
  CaptureRequest request;
  std::vector<std::string> errors;
  if (!parseCaptureArgs(args, request, errors)) {
    for (const auto& line : errors) err << "remora iptables: " << line << "\n";
    err << "run `remora iptables --help` for the flags\n";
    return 2;
  }
  std::vector<std::pair<std::string, Family>> families = {{"iptables", Family::kIPv4}};
  if (request.options.ipv6) families.emplace_back("ip6tables", Family::kIPv6);
  Runner runner(request.dry_run, out, err);
  for (const auto& [program, family] : families) {
    if (request.dry_run) out << "# " << program << "\n";
    if (!request.dry_run && family == Family::kIPv6 &&
        run(program, {"-w", "-t", "nat", "-S"}).status != 0) {
      // No IPv6 NAT here (module or ip6tables missing): the pod has no IPv6 to capture.
      err << "remora iptables: ip6tables has no nat table here; IPv6 is not captured\n";
      continue;
    }
    // Installing starts from a clean slate too: running it twice changes nothing.
    runner.clean(program);
    if (request.mode == CaptureMode::kInstall) {
      runner.install(program, installCommands(request.options, family));
    }
    if (runner.failed()) {
      if (request.mode == CaptureMode::kInstall) {
        // Half-installed capture would black-hole traffic: take it out again.
        Runner undo(false, out, err);
        undo.clean(program);
      }
      return 1;
    }
  }
  return 0;
}

}  // namespace remora::sidecar
