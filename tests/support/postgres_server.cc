#include "tests/support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace herald::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kSuperuser[] = "herald";
constexpr auto kReadyTimeout = seconds(30);
constexpr auto kGoneTimeout = seconds(10);

// Who a child runs as when the tests run as root. Looked up in the parent: between fork() and
// exec() the child may only make async-signal-safe calls, which rules out getpwnam and
// initgroups (they read /etc files through NSS and allocate).
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Everything about a child except its argv: environment, identity, working directory.
struct ChildSetup {
  std::vector<std::string> env;
  std::optional<Credentials> credentials;
  std::string cwd = "/";
};

struct RunResult {
  int exit_code = -1;  // 0-255, 128+signal, -1 when it could not run or timed out
  std::string out;
  std::string err;
};

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

bool Fail(std::string* why_not, const std::string& why) {
  if (why_not != nullptr) *why_not = why;
  return false;
}

// The last lines of a log or of a program's output, for a why_not.
std::string Tail(const std::string& text) {
  constexpr size_t kMaxLines = 20;
  constexpr size_t kMaxChars = 3000;
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
  if (trimmed.empty()) return "(nothing)";
  size_t start = trimmed.size();
  for (size_t lines = 0; start > 0 && lines < kMaxLines; ++lines) {
    size_t newline = trimmed.rfind('\n', start - 1);
    start = newline == std::string::npos ? 0 : newline;
  }
  if (trimmed.size() - start > kMaxChars) start = trimmed.size() - kMaxChars;
  std::string tail = trimmed.substr(start);
  if (!tail.empty() && tail.front() == '\n') tail.erase(0, 1);
  return start > 0 ? "...\n" + tail : tail;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

pid_t WaitPid(pid_t pid, int* status, int options) {
  pid_t got;
  do {
    got = waitpid(pid, status, options);
  } while (got < 0 && errno == EINTR);
  return got;
}

// True once `pid` (our child) has exited and been reaped within `timeout`.
bool ReapWithin(pid_t pid, milliseconds timeout, int* status) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    pid_t got = WaitPid(pid, status, WNOHANG);
    if (got == pid || got < 0) return true;  // < 0: not our child (any more)
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// The environment for PostgreSQL's programs: the test's, minus whatever could redirect or
// reconfigure them (PGHOST, PGOPTIONS, PGSSLMODE, PGSERVICE...), in the C locale (initdb
// refuses a locale that is named in LANG but not installed) with UTF-8 on the wire.
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view var(*entry);
    if (var.starts_with("PG") || var.starts_with("LC_") || var.starts_with("LANG=") ||
        var.starts_with("LANGUAGE=")) {
      continue;
    }
    env.emplace_back(var);
  }
  env.emplace_back("LC_ALL=C");
  env.emplace_back("PGCLIENTENCODING=UTF8");
  env.emplace_back("PGCONNECT_TIMEOUT=10");
  return env;
}

// Raw pieces for the child, all prepared before fork().
struct ExecPlan {
  char* const* argv;
  char* const* envp;
  const gid_t* groups;
  size_t group_count;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const char* cwd;
  int in_fd;
  int out_fd;
  int err_fd;
  pid_t parent;
  int death_signal;
  int max_fd;
};

void ChildWrite(const char* text) {
  ssize_t ignored = write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

// Runs in the forked child: async-signal-safe calls only, up to execve.
[[noreturn]] void ExecChild(const ExecPlan& plan) {
  dup2(plan.in_fd, STDIN_FILENO);
  dup2(plan.out_fd, STDOUT_FILENO);
  dup2(plan.err_fd, STDERR_FILENO);
  // The test's own descriptors (listening sockets of servers under test, RocksDB files)
  // must not live on in a postmaster that outlasts them.
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < plan.max_fd; ++fd) close(fd);
  }
  // Handlers are reset by exec, ignored signals (SIGPIPE in servers under test) and the mask
  // are not; PostgreSQL expects to start with the defaults.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (plan.switch_user) {
    if (setgroups(plan.group_count, plan.groups) != 0 || setgid(plan.gid) != 0 ||
        setuid(plan.uid) != 0) {
      ChildWrite("postgres_server: cannot switch to the cluster's user\n");
      _exit(126);
    }
  }
  // A test program that crashes or is killed takes its server with it instead of leaving a
  // postmaster behind. Set after setuid, which clears it; the parent is the forking thread.
  prctl(PR_SET_PDEATHSIG, plan.death_signal);
  if (getppid() != plan.parent) _exit(1);
  if (chdir(plan.cwd) != 0) {
    ChildWrite("postgres_server: cannot enter the working directory\n");
    _exit(126);
  }
  execve(plan.argv[0], plan.argv, plan.envp);
  ChildWrite("postgres_server: cannot execute ");
  ChildWrite(plan.argv[0]);
  ChildWrite("\n");
  _exit(127);
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Starts argv[0] (an absolute path) with stdin from /dev/null and stdout/stderr on the given
// descriptors; it gets `death_signal` should the calling thread end first. -1 when fork fails.
pid_t Spawn(std::vector<std::string> argv, ChildSetup setup, int out_fd, int err_fd,
            int death_signal) {
  std::vector<char*> args = Pointers(argv);
  std::vector<char*> envp = Pointers(setup.env);
  int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  long max_fd = sysconf(_SC_OPEN_MAX);
  ExecPlan plan{
      .argv = args.data(),
      .envp = envp.data(),
      .groups = setup.credentials ? setup.credentials->groups.data() : nullptr,
      .group_count = setup.credentials ? setup.credentials->groups.size() : 0,
      .switch_user = setup.credentials.has_value(),
      .uid = setup.credentials ? setup.credentials->uid : 0,
      .gid = setup.credentials ? setup.credentials->gid : 0,
      .cwd = setup.cwd.c_str(),
      .in_fd = in_fd,
      .out_fd = out_fd,
      .err_fd = err_fd,
      .parent = getpid(),
      .death_signal = death_signal,
      .max_fd = max_fd > 0 && max_fd < (1 << 20) ? static_cast<int>(max_fd) : (1 << 20),
  };
  pid_t pid = fork();
  if (pid == 0) ExecChild(plan);
  if (in_fd >= 0) close(in_fd);
  return pid;
}

// Runs a program to completion and captures its stdout and stderr; SIGKILLs it after
// `timeout`.
RunResult Run(std::vector<std::string> argv, ChildSetup setup, milliseconds timeout) {
  RunResult result;
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    result.err = ErrnoText("pipe");
    return result;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    result.err = ErrnoText("pipe");
    close(out[0]);
    close(out[1]);
    return result;
  }
  std::string program = argv[0];
  pid_t pid = Spawn(std::move(argv), std::move(setup), out[1], err[1], SIGKILL);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    result.err = ErrnoText("fork");
    close(out[0]);
    close(err[0]);
    return result;
  }
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  auto deadline = Clock::now() + timeout;
  char buffer[8192];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int ready = poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t got = read(fds[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  if (WaitPid(pid, &status, 0) != pid) return result;
  if (timed_out) {
    result.err +=
        "\n(" + program + " killed after " + std::to_string(timeout.count() / 1000) + " s)";
    return result;
  }
  result.exit_code = ExitCode(status);
  return result;
}

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::vector<std::string> PathDirectories() {
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");
  std::stringstream in(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (!dir.empty()) dirs.push_back(dir);
  }
  return dirs;
}

// "15" -> {15}, "9.6" -> {9, 6}; nullopt for anything else.
std::optional<std::vector<int>> ParseVersion(const std::string& name) {
  std::vector<int> parts;
  std::stringstream in(name);
  std::string part;
  while (std::getline(in, part, '.')) {
    if (part.empty() || part.size() > 6 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    parts.push_back(std::stoi(part));
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

// Debian's layout first (/usr/lib/postgresql/<version>/bin, the newest version), then
// initdb and postgres side by side on PATH (Fedora, Arch, Homebrew).
bool FindBinDir(std::string* bin_dir, std::string* why_not) {
  constexpr char kDebianRoot[] = "/usr/lib/postgresql";
  std::optional<std::vector<int>> best;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(kDebianRoot, ec)) {
    std::optional<std::vector<int>> version = ParseVersion(entry.path().filename().string());
    std::string bin = entry.path().string() + "/bin";
    if (!version || !IsExecutable(bin + "/initdb") || !IsExecutable(bin + "/postgres")) continue;
    if (!best || *version > *best) {
      best = version;
      *bin_dir = bin;
    }
  }
  if (best) return true;
  for (const std::string& dir : PathDirectories()) {
    if (IsExecutable(dir + "/initdb") && IsExecutable(dir + "/postgres")) {
      *bin_dir = dir;
      return true;
    }
  }
  return Fail(why_not, std::string("PostgreSQL is not installed: no ") + kDebianRoot +
                           "/<version>/bin with initdb and postgres, and neither on PATH");
}

bool LookUpUser(const std::string& name, Credentials* credentials) {
  std::vector<char> buffer(16384);
  passwd entry;
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return false;
  }
  credentials->uid = found->pw_uid;
  credentials->gid = found->pw_gid;
  int count = 64;
  credentials->groups.assign(static_cast<size_t>(count), 0);
  if (getgrouplist(name.c_str(), found->pw_gid, credentials->groups.data(), &count) < 0) {
    credentials->groups.assign(static_cast<size_t>(count), 0);
    if (getgrouplist(name.c_str(), found->pw_gid, credentials->groups.data(), &count) < 0) {
      count = 0;
    }
  }
  credentials->groups.resize(static_cast<size_t>(count));
  if (credentials->groups.empty()) credentials->groups.push_back(found->pw_gid);
  return true;
}

// The identity of the cluster's programs: nullopt (ourselves) unless we are root.
std::optional<Credentials> ClusterCredentials(const std::string& run_as) {
  if (run_as.empty()) return std::nullopt;
  Credentials credentials;
  if (!LookUpUser(run_as, &credentials)) return std::nullopt;
  return credentials;
}

// Whether `credentials` may read, write and enter `path`: asked of the kernel in a child that
// has switched to them, which sees every ancestor's mode bits and ACLs as the server will.
bool AccessibleAs(const Credentials& credentials, const std::string& path) {
  const char* c_path = path.c_str();
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(credentials.groups.size(), credentials.groups.data()) != 0 ||
        setgid(credentials.gid) != 0 || setuid(credentials.uid) != 0) {
      _exit(2);
    }
    _exit(access(c_path, R_OK | W_OK | X_OK) == 0 ? 0 : 1);
  }
  if (pid < 0) return false;
  int status = 0;
  return WaitPid(pid, &status, 0) == pid && ExitCode(status) == 0;
}

bool ChownTree(const std::string& root, const Credentials& credentials) {
  if (lchown(root.c_str(), credentials.uid, credentials.gid) != 0) return false;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (lchown(it->path().c_str(), credentials.uid, credentials.gid) != 0) return false;
  }
  return !ec;
}

// A fresh directory for the cluster under $TMPDIR, or /tmp when $TMPDIR does not suit: the
// socket path must fit in sockaddr_un, and the cluster's user must be able to reach it (a
// root-only $TMPDIR such as /root/tmp does not do).
bool MakeClusterDirectory(const std::optional<Credentials>& credentials, std::string* dir,
                          std::string* why_not) {
  std::vector<std::string> bases;
  const char* tmpdir = std::getenv("TMPDIR");
  if (tmpdir != nullptr && *tmpdir != '\0') bases.emplace_back(tmpdir);
  if (bases.empty() || bases.front() != "/tmp") bases.emplace_back("/tmp");
  std::string reasons;
  for (const std::string& base : bases) {
    std::string pattern = base + "/herald-pg-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) {
      reasons += "; " + ErrnoText("mkdtemp " + pattern);
      continue;
    }
    std::error_code ec;
    // Canonical, so that PostgreSQL's data_directory reads back as exactly what we passed.
    std::string path = fs::canonical(buffer.data(), ec).string();
    if (ec) path = buffer.data();
    std::string why;
    if (path.size() + sizeof("/.s.PGSQL.65535") > sizeof(sockaddr_un{}.sun_path)) {
      why = path + " is too long for a unix socket path";
    } else if (credentials && !ChownTree(path, *credentials)) {
      why = ErrnoText("chown " + path);
    } else if (credentials && !AccessibleAs(*credentials, path)) {
      why = path + " is not reachable by the cluster's user (check the modes of " + base + ")";
    }
    if (why.empty()) {
      *dir = path;
      return true;
    }
    reasons += "; " + why;
    fs::remove_all(buffer.data(), ec);
  }
  return Fail(why_not, "no directory for the cluster" + reasons);
}

// A process as /proc/<pid>/stat shows it; the start time tells a reused pid apart.
struct ProcessInfo {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  unsigned long long start_time = 0;
};

std::optional<ProcessInfo> ReadProcessInfo(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t comm_end = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (comm_end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(comm_end + 1));
  ProcessInfo info;
  info.pid = pid;
  std::string skip;
  fields >> info.state >> info.ppid;
  for (int field = 5; field < 22; ++field) fields >> skip;  // pgrp ... itrealvalue
  fields >> info.start_time;
  if (!fields) return std::nullopt;
  return info;
}

std::vector<ProcessInfo> ChildrenOf(pid_t parent) {
  std::vector<ProcessInfo> children;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    std::optional<ProcessInfo> info = ReadProcessInfo(std::stoi(name));
    if (info && info->ppid == parent) children.push_back(*info);
  }
  return children;
}

// Gone, a zombie (whoever inherited it may never reap it: pid 1 in a container often does
// not), or its pid reused.
bool IsGone(const ProcessInfo& process) {
  std::optional<ProcessInfo> now = ReadProcessInfo(process.pid);
  return !now || now->start_time != process.start_time || now->state == 'Z' || now->state == 'X';
}

bool AllGoneWithin(const std::vector<ProcessInfo>& processes, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (std::all_of(processes.begin(), processes.end(), IsGone)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// After a SIGKILLed postmaster whose children have all gone: removes what it left behind so
// that the next start cannot be refused. postmaster.pid names the dead pid, which may belong
// to another process by now (PostgreSQL then refuses to start); line 7 names the System V
// shared memory segment, which nobody else would remove once the directory is deleted. A
// segment that is still attached means an old process lives: then everything stays, and
// PostgreSQL's own interlock refuses to start on it.
void RemoveCrashLeftovers(const std::string& dir, int port) {
  std::string pid_file = dir + "/data/postmaster.pid";
  std::istringstream lines(ReadFile(pid_file));
  std::string line;
  int line_count = 0;
  while (line_count < 7 && std::getline(lines, line)) ++line_count;
  std::istringstream shmem(line_count == 7 ? line : "");
  unsigned long key = 0;
  int shmid = -1;
  if (shmem >> key >> shmid) {
    shmid_ds segment{};
    if (shmctl(shmid, IPC_STAT, &segment) == 0 &&
        static_cast<unsigned long>(segment.shm_perm.__key) == key) {
      if (segment.shm_nattch != 0) return;
      shmctl(shmid, IPC_RMID, nullptr);
    }
  }
  unlink(pid_file.c_str());
  unlink((dir + "/.s.PGSQL." + std::to_string(port) + ".lock").c_str());
}

// Line 8 of postmaster.pid is the postmaster's status: "starting", "ready" or "stopping".
bool PostmasterSaysReady(const std::string& data_dir) {
  std::istringstream lines(ReadFile(data_dir + "/postmaster.pid"));
  std::string line;
  int line_count = 0;
  while (line_count < 8 && std::getline(lines, line)) ++line_count;
  return line_count == 8 && line.starts_with("ready");
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A libpq conninfo value: bare when it can be, else single-quoted with \ escapes.
std::string ConnInfoValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \t\n\r\f\v'\\=") == std::string::npos) {
    return value;
  }
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string WithoutLastNewline(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Where a fresh cluster made by initdb (with Start's options) is kept for the next tests of
// this machine: one per PostgreSQL installation and cluster owner, in the temp directory.
// Bump the version when initdb's options change.
std::string ModelClusterDir(const std::string& bin_dir, const std::string& run_as) {
  std::string name =
      "herald-pg-model-v1-" + bin_dir + "-" + (run_as.empty() ? std::to_string(geteuid()) : run_as);
  std::replace(name.begin(), name.end(), '/', '_');
  return (std::filesystem::temp_directory_path() / name).string();
}

// Copies the fresh cluster at `data` to `model`/data for the next tests: into a directory of
// its own first, renamed into place, so that a program reading the model never sees half of
// one. Another program keeping one at the same moment wins or loses the rename; either way
// one whole copy is there. Failures only cost the next tests their initdb.
void KeepModelCluster(const std::string& data, const std::string& model, const ChildSetup& owner) {
  const std::string staging = model + ".new-" + std::to_string(getpid());
  if (Run({"/bin/mkdir", "-p", staging}, owner, seconds(10)).exit_code == 0 &&
      Run({"/bin/cp", "-a", data, staging + "/data"}, owner, seconds(60)).exit_code == 0) {
    std::error_code ec;
    std::filesystem::rename(staging, model, ec);  // fails when the model exists: keep that one
  }
  std::error_code ignored;
  std::filesystem::remove_all(staging, ignored);
}

}  // namespace

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string* why_not) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (!FindBinDir(&server->bin_dir_, why_not)) return nullptr;
  std::optional<Credentials> credentials;
  if (geteuid() == 0) {
    for (const char* user : {"postgres", "nobody"}) {
      credentials = ClusterCredentials(user);
      if (credentials) {
        server->run_as_ = user;
        break;
      }
    }
    if (!credentials) {
      Fail(why_not, "running as root, and neither a postgres nor a nobody user to run as");
      return nullptr;
    }
  }
  if (!MakeClusterDirectory(credentials, &server->dir_, why_not)) return nullptr;

  // A copy of the cluster initdb made for an earlier test, when there is one: every test
  // program starts a server of its own, and copying is about ten times faster than initdb.
  const ChildSetup as_owner{ChildEnvironment(), credentials, server->dir_};
  const std::string model = ModelClusterDir(server->bin_dir_, server->run_as_);
  const bool copied =
      std::filesystem::is_directory(model + "/data") &&
      Run({"/bin/cp", "-a", model + "/data", server->dir_ + "/data"}, as_owner, seconds(60))
              .exit_code == 0;
  if (!copied) {
    std::error_code ignored;
    std::filesystem::remove_all(server->dir_ + "/data", ignored);
    // --no-sync: initdb's own fsyncs only slow the tests down; the server runs with fsync on.
    RunResult initdb = Run({server->bin_dir_ + "/initdb", "-D", server->dir_ + "/data", "-U",
                            kSuperuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                           as_owner, seconds(120));
    if (initdb.exit_code != 0) {
      Fail(why_not, "initdb failed (exit " + std::to_string(initdb.exit_code) +
                        (server->run_as_.empty() ? "" : ", as " + server->run_as_) +
                        "): " + Tail(initdb.out + initdb.err));
      return nullptr;
    }
    KeepModelCluster(server->dir_ + "/data", model, as_owner);
  }

  // After a crash PostgreSQL first flushes the whole data directory, by default with one fsync
  // per file: seconds for a fresh cluster, on every Restart after Kill. One syncfs of the file
  // system gives the same guarantee far faster (PostgreSQL 14 and later). Only speed is at
  // stake, so a failure to append is ignored.
  std::string data_dir = server->dir_ + "/data";
  if (std::atoi(ReadFile(data_dir + "/PG_VERSION").c_str()) >= 14) {
    std::ofstream conf(data_dir + "/postgresql.conf", std::ios::app);
    conf << "\n# herald tests\nrecovery_init_sync_method = syncfs\n";
  }

  // FreePort's port may be taken again before the postmaster binds it: then try another.
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      server->port_ = FreePort();
    } catch (const std::exception& e) {
      Fail(why_not, std::string("no free port: ") + e.what());
      return nullptr;
    }
    if (server->Launch(&why)) return server;
    if (why.find("Address already in use") == std::string::npos) break;
  }
  Fail(why_not, why);
  return nullptr;
}

void PostgresServer::QuitOrKill() {
  // Immediate shutdown (SIGQUIT): the postmaster exits once its children have; SIGKILL when
  // that takes too long.
  kill(pid_, SIGQUIT);
  int status = 0;
  if (ReapWithin(pid_, kGoneTimeout, &status)) {
    pid_ = -1;
  } else {
    Kill();
  }
}

PostgresServer::~PostgresServer() {
  if (pid_ > 0) {
    // Immediate shutdown: nothing of the cluster is kept, so there is nothing to flush. The
    // postmaster exits once its children have.
    QuitOrKill();
  }
  if (!dir_.empty()) {
    RemoveCrashLeftovers(dir_, port_);  // a server that died by itself left them
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PostgresServer::ConnInfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kSuperuser +
         " dbname=" + ConnInfoValue(db) + " connect_timeout=10";
}

namespace {

// psql without a shell in between: the SQL reaches the server byte for byte.
RunResult RunPsql(const std::string& bin_dir, const std::string& conninfo,
                  const std::vector<std::string>& commands) {
  std::string psql = bin_dir + "/psql";
  if (!IsExecutable(psql)) {
    for (const std::string& dir : PathDirectories()) {
      if (IsExecutable(dir + "/psql")) {
        psql = dir + "/psql";
        break;
      }
    }
  }
  // The conninfo as -d rather than -h/-p/-U/-d, so that a database name containing '=' is not
  // taken for a connection string.
  std::vector<std::string> argv = {psql, "-X",    "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                   "-d", conninfo};
  for (const std::string& command : commands) {
    argv.push_back("-c");
    argv.push_back(command);
  }
  return Run(std::move(argv), ChildSetup{ChildEnvironment(), std::nullopt, "/"}, seconds(600));
}

}  // namespace

std::string PostgresServer::CreateDatabase(const std::string& name) {
  // Two -c options, two queries: CREATE DATABASE refuses to run in the implicit transaction
  // of a multi-statement query string.
  std::string quoted = QuoteIdentifier(name);
  RunResult result =
      RunPsql(bin_dir_, ConnInfo("postgres"),
              {"DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)", "CREATE DATABASE " + quoted});
  if (result.exit_code == 0) return "";
  std::string error = WithoutLastNewline(result.err);
  return error.empty() ? "psql exited with " + std::to_string(result.exit_code) : error;
}

std::string PostgresServer::Psql(const std::string& sql, const std::string& db, int* exit_code) {
  RunResult result = RunPsql(bin_dir_, ConnInfo(db), {sql});
  if (exit_code != nullptr) *exit_code = result.exit_code;
  return WithoutLastNewline(result.out);
}

void PostgresServer::Kill() {
  if (pid_ <= 0) return;
  // Stop the postmaster first so that it cannot fork while its children are listed: once
  // waitpid reports it stopped, every fork it began has completed.
  std::vector<ProcessInfo> children;
  bool reaped = false;
  int status = 0;
  if (kill(pid_, SIGSTOP) == 0 && WaitPid(pid_, &status, WUNTRACED) == pid_) {
    if (WIFSTOPPED(status)) {
      children = ChildrenOf(pid_);
    } else {
      reaped = true;  // it had exited already
    }
  }
  if (!reaped) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, &status, 0);
  }
  pid_ = -1;
  // The children notice the postmaster's death and exit by themselves; a new postmaster must
  // not start while one of them still writes to the data directory.
  if (!AllGoneWithin(children, kGoneTimeout)) {
    for (const ProcessInfo& child : children) {
      if (!IsGone(child)) kill(child.pid, SIGKILL);
    }
    if (!AllGoneWithin(children, kGoneTimeout)) {
      std::fprintf(stderr, "PostgresServer::Kill: children of the postmaster outlived it\n");
    }
  }
  auto deadline = Clock::now() + kGoneTimeout;
  while (PortAccepts(port_) && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  RemoveCrashLeftovers(dir_, port_);
}

bool PostgresServer::Restart() {
  if (pid_ > 0) Stop();
  std::string why_not;
  if (Launch(&why_not)) return true;
  std::fprintf(stderr, "PostgresServer::Restart: %s\n", why_not.c_str());
  return false;
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);  // fast shutdown: sessions are ended, a checkpoint is written
  int status = 0;
  if (ReapWithin(pid_, seconds(60), &status)) {
    pid_ = -1;
  } else {
    Kill();
  }
}

bool PostgresServer::Launch(std::string* why_not) {
  std::optional<Credentials> credentials = ClusterCredentials(run_as_);
  if (!run_as_.empty() && !credentials) return Fail(why_not, "no user " + run_as_ + " any more");
  std::string log_path = dir_ + "/server.log";
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log < 0) return Fail(why_not, ErrnoText("open " + log_path));
  if (credentials && fchown(log, credentials->uid, credentials->gid) != 0) {
    close(log);
    return Fail(why_not, ErrnoText("chown " + log_path));
  }
  off_t log_start = lseek(log, 0, SEEK_END);
  auto log_tail = [&] {
    std::string text = ReadFile(log_path);
    return Tail(log_start > 0 && static_cast<size_t>(log_start) <= text.size()
                    ? text.substr(static_cast<size_t>(log_start))
                    : text);
  };
  std::string data_dir = dir_ + "/data";
  pid_ = Spawn({bin_dir_ + "/postgres", "-D", data_dir, "-p", std::to_string(port_), "-k", dir_,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "max_connections=200",
                "-c", "shared_buffers=32MB", "-c", "logging_collector=off"},
               ChildSetup{ChildEnvironment(), credentials, dir_}, log, log,
               // Immediate shutdown should the test die: the postmaster ends its children and
               // removes its shared memory, which after SIGKILL would stay until reboot.
               SIGQUIT);
  close(log);
  if (pid_ < 0) return Fail(why_not, ErrnoText("fork"));

  // Ready means: our postmaster is alive, and a query on 127.0.0.1:port reaches a server whose
  // data directory is ours (not some other process that took the port).
  auto deadline = Clock::now() + kReadyTimeout;
  std::string pg_isready = bin_dir_ + "/pg_isready";
  while (Clock::now() < deadline) {
    int status = 0;
    if (WaitPid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Fail(why_not, "postgres exited (status " + std::to_string(ExitCode(status)) +
                               ") before accepting connections on port " + std::to_string(port_) +
                               "; server.log: " + log_tail());
    }
    // postmaster.pid's status line first (what pg_ctl waits for): connection attempts during
    // recovery would each log a FATAL line and push the interesting part out of the tail.
    if (PostmasterSaysReady(data_dir) && PortAccepts(port_) &&
        (!IsExecutable(pg_isready) ||
         Run({pg_isready, "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", kSuperuser,
              "-d", "postgres", "-t", "5"},
             ChildSetup{ChildEnvironment(), std::nullopt, "/"}, seconds(10))
                 .exit_code == 0)) {
      int exit_code = -1;
      std::string shown = Psql("select current_setting('data_directory')", "postgres", &exit_code);
      if (exit_code == 0 && shown == data_dir) return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::string why = "postgres did not accept queries on port " + std::to_string(port_) +
                    " within 30 s; server.log: " + log_tail();
  QuitOrKill();
  return Fail(why_not, why);
}

PostgresServer* SharedPostgresServer(std::string* why_not) {
  // The one piece of mutable global state in the test support code: a server per test
  // program, started on first use (thread-safe initialisation of a local static), stopped
  // and removed by static destruction at exit.
  struct Shared {
    std::unique_ptr<PostgresServer> server;
    std::string why_not;
  };
  static Shared shared = [] {
    Shared s;
    s.server = PostgresServer::Start(&s.why_not);
    return s;
  }();
  if (shared.server == nullptr && why_not != nullptr) *why_not = shared.why_not;
  return shared.server.get();
}

bool PostgresRequired() { return std::getenv("HERALD_REQUIRE_POSTGRES") != nullptr; }

}  // namespace herald::testing
