#include "tests/support/patroni_cluster.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The template's ${NAME}s replaced by their values.
std::string Fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    const std::string key = "${" + name + "}";
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), value);
      at += value.size();
    }
  }
  return text;
}

// The newest /usr/lib/postgresql/<version>/bin.
std::string PostgresBinDir() {
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = entry.path().string() + "/bin";
    if (fs::exists(bin + "/postgres") && bin > best) best = bin;
  }
  return best;
}

std::string Tail(const std::string& text, std::size_t n = 1500) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

// Gives `path` and everything in it to `user`.
void GiveTo(const std::string& path, const passwd& user) {
  if (chown(path.c_str(), user.pw_uid, user.pw_gid) != 0) return;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
    (void)chown(entry.path().c_str(), user.pw_uid, user.pw_gid);
  }
}

}  // namespace

std::unique_ptr<PatroniCluster> PatroniCluster::Start(const std::string& dir,
                                                      std::string* why_not) {
  for (const char* program : {"/usr/bin/etcd", "/usr/bin/patroni", "/usr/bin/setpriv"}) {
    if (access(program, X_OK) != 0) {
      *why_not = std::string(program) + " is not installed (Debian: etcd-server, patroni)";
      return nullptr;
    }
  }
  const std::string bin_dir = PostgresBinDir();
  if (bin_dir.empty()) {
    *why_not = "no PostgreSQL under /usr/lib/postgresql";
    return nullptr;
  }
  const std::string etcd_template =
      ReadFile(std::string(HERALD_SOURCE_DIR) + "/deploy/patroni/etcd.yml.in");
  const std::string patroni_template =
      ReadFile(std::string(HERALD_SOURCE_DIR) + "/deploy/patroni/patroni.yml.in");
  if (etcd_template.empty() || patroni_template.empty()) {
    *why_not = "cannot read deploy/patroni/*.yml.in";
    return nullptr;
  }
  std::unique_ptr<PatroniCluster> cluster(new PatroniCluster());
  cluster->dir_ = dir;
  fs::create_directories(dir);

  std::vector<int> client_ports, peer_ports;
  std::string initial_cluster, etcd_hosts;
  for (int i = 0; i < kNodes; ++i) {
    client_ports.push_back(FreePort());
    peer_ports.push_back(FreePort());
    initial_cluster += (i ? "," : "") + std::string("e") + std::to_string(i) +
                       "=http://127.0.0.1:" + std::to_string(peer_ports.back());
    etcd_hosts += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(client_ports.back());
  }
  for (int i = 0; i < kNodes; ++i) {
    const std::string home = dir + "/etcd" + std::to_string(i);
    fs::create_directories(home);
    WriteFile(home + "/etcd.yml",
              Fill(etcd_template, {{"NAME", "e" + std::to_string(i)},
                                   {"DATA_DIR", home + "/data"},
                                   {"CLIENT_PORT", std::to_string(client_ports[i])},
                                   {"PEER_PORT", std::to_string(peer_ports[i])},
                                   {"INITIAL_CLUSTER", initial_cluster}}));
    cluster->etcd_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/etcd", "--config-file", home + "/etcd.yml"},
        home + "/log"));
  }
  for (int i = 0; i < kNodes; ++i) {
    if (!WaitForPort(client_ports[i], 20s)) {
      *why_not = "etcd did not start: " + Tail(cluster->etcd_[i]->Output());
      return nullptr;
    }
  }

  const passwd* postgres = geteuid() == 0 ? getpwnam("postgres") : nullptr;
  if (geteuid() == 0 && postgres == nullptr) {
    *why_not = "running as root, and there is no postgres user to run PostgreSQL as";
    return nullptr;
  }
  for (int i = 0; i < kNodes; ++i) {
    cluster->pg_ports_.push_back(FreePort());
    cluster->rest_ports_.push_back(FreePort());
    const std::string home = dir + "/pg" + std::to_string(i);
    fs::create_directories(home);
    WriteFile(home + "/patroni.yml",
              Fill(patroni_template, {{"NAME", "pg" + std::to_string(i)},
                                      {"REST_PORT", std::to_string(cluster->rest_ports_[i])},
                                      {"ETCD_HOSTS", etcd_hosts},
                                      {"PG_PORT", std::to_string(cluster->pg_ports_[i])},
                                      {"DATA_DIR", home + "/data"},
                                      {"BIN_DIR", bin_dir},
                                      {"DIR", home}}));
  }
  if (postgres != nullptr) {
    GiveTo(dir, *postgres);
    // The directories above it (a test's TempDir is 0700) must let the postgres user through.
    std::error_code ec;
    for (fs::path up = fs::path(dir).parent_path(); !up.empty() && up != up.root_path();
         up = up.parent_path()) {
      fs::permissions(up, fs::perms::others_exec, fs::perm_options::add, ec);
    }
  }
  for (int i = 0; i < kNodes; ++i) {
    const std::string home = dir + "/pg" + std::to_string(i);
    std::vector<std::string> argv;
    if (postgres != nullptr) {
      // setpriv execs Patroni in its own process: the child's pid is Patroni's.
      argv = {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
    }
    argv.insert(argv.end(), {"/usr/bin/patroni", home + "/patroni.yml"});
    cluster->patroni_.push_back(std::make_unique<ChildProcess>(argv, home + "/log"));
  }
  if (cluster->WaitForPrimary(90s) < 0) {
    *why_not = "no primary with a synchronous standby within 90 s:\n" + cluster->Logs();
    return nullptr;
  }
  return cluster;
}

PatroniCluster::~PatroniCluster() {
  for (int i = 0; i < static_cast<int>(patroni_.size()); ++i) KillNode(i);
  for (auto& etcd : etcd_) etcd->Signal(SIGKILL);
}

std::string PatroniCluster::ConnInfo(const std::string& db) const {
  std::string hosts, ports;
  for (int i = 0; i < kNodes; ++i) {
    hosts += (i ? "," : "") + std::string("127.0.0.1");
    ports += (i ? "," : "") + std::to_string(pg_ports_[i]);
  }
  return "host=" + hosts + " port=" + ports + " dbname=" + db +
         " user=herald connect_timeout=2 target_session_attrs=read-write";
}

bool PatroniCluster::RestOk(int i, const std::string& path) const {
  int code = 0;
  const std::string status = RunCommand(
      "curl -s -o /dev/null -w '%{http_code}' --max-time 1 "
      "http://127.0.0.1:" +
          std::to_string(rest_ports_[i]) + path,
      &code);
  return status == "200";
}

int PatroniCluster::Primary() const {
  for (int i = 0; i < kNodes; ++i) {
    if (patroni_[i]->running() && RestOk(i, "/primary")) return i;
  }
  return -1;
}

int PatroniCluster::WaitForPrimary(std::chrono::milliseconds limit, int not_this) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const int primary = Primary();
    if (primary >= 0 && primary != not_this) {
      for (int i = 0; i < kNodes; ++i) {
        if (i != primary && patroni_[i]->running() && RestOk(i, "/sync")) return primary;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  return -1;
}

void PatroniCluster::KillNode(int i) {
  patroni_[i]->Signal(SIGKILL);
  patroni_[i]->Wait(5s);
  std::ifstream pid_file(dir_ + "/pg" + std::to_string(i) + "/data/postmaster.pid");
  pid_t postmaster = 0;
  if (pid_file >> postmaster && postmaster > 1) kill(postmaster, SIGKILL);
  // The postmaster was Patroni's child, and is now the container's init's: wait for it to go.
  for (int tries = 0; tries < 100 && postmaster > 1 && kill(postmaster, 0) == 0; ++tries) {
    std::this_thread::sleep_for(50ms);
  }
}

std::string PatroniCluster::Psql(int i, const std::string& sql, const std::string& db,
                                 int* exit_code) const {
  std::string escaped;
  for (char c : sql) escaped += c == '\'' ? std::string("'\\''") : std::string(1, c);
  std::string out =
      RunCommand(PostgresBinDir() + "/psql -X -q -A -t -h 127.0.0.1 -p " +
                     std::to_string(pg_ports_[i]) + " -U herald -d " + db + " -c '" + escaped + "'",
                 exit_code);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string PatroniCluster::Logs() const {
  std::ostringstream out;
  for (int i = 0; i < static_cast<int>(patroni_.size()); ++i) {
    out << "--- patroni pg" << i << ":\n" << Tail(patroni_[i]->Output(), 800) << "\n";
  }
  for (int i = 0; i < static_cast<int>(etcd_.size()); ++i) {
    out << "--- etcd e" << i << ":\n" << Tail(etcd_[i]->Output(), 400) << "\n";
  }
  return out.str();
}

}  // namespace herald::testing
