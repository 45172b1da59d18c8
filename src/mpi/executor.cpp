// futura::mpi's MPI half: the root's progress thread and the workers' loop.
//
// Threads on the root: whoever calls submit()/map() only serializes and queues (under one
// mutex); the progress thread alone calls MPI while the executor is open. It sends each
// queued call to the least loaded worker with room (executor_options::max_in_flight), in
// submission order, as non-blocking sends, and takes the replies with one non-blocking
// receive from any worker (Boost.MPI's irecv: MPI_Improbe + MPI_Mrecv), so replies are
// taken in completion order. With nothing out it sleeps on a condition variable until a
// submission; with calls out it polls, backing off exponentially up to
// executor_options::max_backoff, and a submission wakes it early when a worker has room.
//
// A worker is the thread that called run(): it receives one message at a time (several
// calls when the root had several for it), runs its calls in order and sends each reply as
// soon as its call returns. Idle, it polls with the same backoff, so it costs no core.
#include <futura/mpi/detail/session.hpp>
#include <futura/mpi/environment.hpp>
#include <futura/mpi/errors.hpp>

#include <boost/mpi/environment.hpp>
#include <boost/mpi/nonblocking.hpp>
#include <boost/mpi/request.hpp>
#include <boost/mpi/status.hpp>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace futura::mpi::detail {

namespace {

using std::chrono::microseconds;

/// How long a poller waits between two polls. For `busy` after something happened it only
/// yields: a sleep costs 15-70 us here (timer slack, wake-up), more than a reply takes to
/// come back, and a ping-pong of sleepers goes at the pace of their sleeps. After that it
/// sleeps an eighth of the time waited so far, up to `max`: a long wait costs one short
/// wake-up per `max`, and a reply is seen within an eighth of its time. Counting the polls
/// instead (doubling the sleep each time, as mpi4py's Backoff does) feeds back: each side
/// sleeps about as long as it has already waited, so each round trip costs twice the
/// previous one, until both sides sleep the maximum.
class backoff {
 public:
  using clock = std::chrono::steady_clock;
  backoff(microseconds busy, microseconds max) noexcept
      : busy_(busy), max_(std::max(max, microseconds(1))) {}
  /// Something happened: poll eagerly again.
  void reset() noexcept { since_ = clock::now(); }
  microseconds next() const noexcept {
    auto const waited = std::chrono::duration_cast<microseconds>(clock::now() - since_);
    if (waited < busy_) return microseconds(0);
    return std::min(max_, waited / 8);
  }
  void sleep() const noexcept {
    auto const d = next();
    if (d == microseconds(0))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(d);
  }

 private:
  microseconds busy_;
  microseconds max_;
  clock::time_point since_ = clock::now();
};

/// Short sleeps sleep as long as asked: Linux otherwise adds up to 50 µs of timer slack to
/// each, which would set the pace of every poll. Restores the thread's slack when done.
class fine_timer_slack {
 public:
  fine_timer_slack() noexcept {
#if defined(__linux__)
    old_ = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 1000ul, 0, 0, 0);  // 1 µs, in ns
#endif
  }
  ~fine_timer_slack() {
#if defined(__linux__)
    if (old_ > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_), 0, 0, 0);
#endif
  }
  fine_timer_slack(fine_timer_slack const&) = delete;
  fine_timer_slack& operator=(fine_timer_slack const&) = delete;

 private:
  long old_ = 0;
};

/// A non-blocking send and the buffer it reads from.
struct outgoing {
  boost::mpi::request request;
  std::vector<char> bytes;
};

void reap(std::vector<outgoing>& sends) {
  std::erase_if(sends, [](outgoing& s) { return static_cast<bool>(s.request.test()); });
}

outgoing& send_bytes(std::vector<outgoing>& sends, boost::mpi::communicator const& comm, int dest,
                     int tag, std::vector<char> bytes) {
  auto& s = sends.emplace_back();
  s.bytes = std::move(bytes);
  s.request = comm.isend(dest, tag, s.bytes.data(), static_cast<int>(s.bytes.size()));
  return s;
}

// --- a worker that dies in a call says which call ------------------------------------
//
// Open MPI ends the whole job when one process dies (mpirun kills the others and exits
// non-zero), so a dead worker never leaves the root waiting. What it cannot say is which
// call killed it: a worker prints that, from its signal handler or at exit().

char g_crash_line[512];  // prepared before each call, written by the handler
std::atomic<bool> g_in_call{false};
struct sigaction g_old_actions[32];
int const g_crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

void write_all(char const* s) noexcept {  // async-signal-safe
  [[maybe_unused]] auto const w = ::write(STDERR_FILENO, s, std::strlen(s));
}

extern "C" void on_crash_signal(int sig) {
  if (g_in_call.load(std::memory_order_relaxed)) {
    char number[4] = {static_cast<char>('0' + sig / 10 % 10), static_cast<char>('0' + sig % 10), 0,
                      0};
    write_all(g_crash_line);
    write_all(" on signal ");
    write_all(sig < 10 ? number + 1 : number);
    write_all(sig == SIGSEGV  ? " (SIGSEGV)\n"
              : sig == SIGBUS ? " (SIGBUS)\n"
              : sig == SIGFPE ? " (SIGFPE)\n"
              : sig == SIGILL ? " (SIGILL)\n"
                              : " (SIGABRT)\n");
  }
  sigaction(sig, &g_old_actions[sig], nullptr);  // then die as we would have: core, MPI's report
  std::raise(sig);
}

extern "C" void on_exit_in_call() {
  if (!g_in_call.load()) return;
  std::fprintf(stderr, "%s by calling exit()\n", g_crash_line);
  std::fflush(stderr);
}

class crash_reporter {
 public:
  explicit crash_reporter(int rank) : rank_(rank) {
    static bool const at_exit = std::atexit(on_exit_in_call) == 0;
    (void)at_exit;
    struct sigaction a {};
    a.sa_handler = on_crash_signal;
    sigemptyset(&a.sa_mask);
    for (int s : g_crash_signals) sigaction(s, &a, &g_old_actions[s]);
  }
  ~crash_reporter() {
    for (int s : g_crash_signals) sigaction(s, &g_old_actions[s], nullptr);
  }
  crash_reporter(crash_reporter const&) = delete;
  crash_reporter& operator=(crash_reporter const&) = delete;

  void entering(std::string_view name) noexcept {
    std::snprintf(g_crash_line, sizeof g_crash_line,
                  "futura::mpi: worker rank %d died while running '%.*s'", rank_,
                  static_cast<int>(std::min<std::size_t>(name.size(), 400)), name.data());
    g_in_call.store(true, std::memory_order_relaxed);
  }
  void left() noexcept { g_in_call.store(false, std::memory_order_relaxed); }

 private:
  int rank_;
};

/// Runs one call frame on a worker; appends its reply frame to `out`.
void run_call(frame_reader& r, std::vector<char>& out, crash_reporter& crash) {
  auto const id = r.get<std::uint64_t>();
  auto const kind = static_cast<call_kind>(r.get<std::uint8_t>());
  auto const signature = r.get<std::uint64_t>();
  auto const name = r.bytes(r.get<std::uint16_t>());
  auto const args = r.bytes(r.get<std::uint32_t>());

  auto const start = out.size();
  auto const* entry = find_remote(name);
  if (!entry || entry->signature != signature) {
    auto const at = begin_reply_frame(
        out, id, entry ? reply_status::other_signature : reply_status::not_registered);
    end_frame(out, at);
    return;
  }
  crash.entering(name);
  try {
    auto const at = begin_reply_frame(out, id, reply_status::value);
    (kind == call_kind::chunk ? entry->chunk : entry->call)(args.data(), args.size(), out);
    end_frame(out, at);  // throws if the result is too big for a message
    crash.left();
  } catch (...) {
    crash.left();
    out.resize(start);
    auto const at = begin_reply_frame(out, id, reply_status::exception);
    {
      auto const e = capture_current_exception();
      oarchive_to o(out);
      o.get() << e;
    }
    end_frame(out, at);
  }
}

}  // namespace

// --- the root --------------------------------------------------------------------------

struct root_core::impl {
  struct worker_slot {
    int rank;
    std::vector<std::unique_ptr<call_base>> calls;  // sent, not answered
  };

  impl(boost::mpi::communicator comm, executor_options const& o)
      : comm_(std::move(comm)), options_(o) {
    index_of_rank_.assign(static_cast<std::size_t>(comm_.size()), -1);
    for (int r = 0; r < comm_.size(); ++r)
      if (r != o.root) {
        index_of_rank_[static_cast<std::size_t>(r)] = static_cast<int>(workers_.size());
        workers_.push_back({r, {}});
      }
    thread_ = std::thread([this] { progress(); });
  }

  void check_open() const {
    if (closed_flag_.load(std::memory_order_acquire))
      throw broken_executor("cannot schedule new futures after shutdown");
  }

  void enqueue(std::unique_ptr<call_base> c) {
    std::unique_lock lk(mutex_);
    if (closed_) throw broken_executor("cannot schedule new futures after shutdown");
    queue_.push_back(std::move(c));
    ++unfinished_;
    if (listening_) {
      listening_ = false;
      lk.unlock();
      wake_.notify_one();
    }
  }

  void shutdown(bool wait, bool cancel_futures) {
    if (wait && std::this_thread::get_id() == thread_.get_id())
      throw invalid_state_error(
          "shutdown(wait=true) from a done callback of the MPI executor would wait for itself");
    std::deque<std::unique_ptr<call_base>> cancelled;
    {
      std::lock_guard lk(mutex_);
      closed_ = true;
      closed_flag_.store(true, std::memory_order_release);
      if (cancel_futures) {
        cancelled.swap(queue_);
        unfinished_ -= cancelled.size();
      }
    }
    drained_.notify_all();
    for (auto& c : cancelled) c->cancel();  // outside the lock: callbacks run here
    cancelled.clear();
    if (!wait) return;
    std::unique_lock lk(mutex_);
    drained_.wait(lk, [&] { return unfinished_ == 0; });
  }

  /// shutdown(wait), stop the workers, join.
  void finish() noexcept {
    try {
      shutdown(true, false);
    } catch (...) {
    }
    {
      std::lock_guard lk(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void progress() noexcept;
  bool take_replies();
  void complete_replies(int source);
  bool dispatch();
  bool has_room() const noexcept {
    for (auto const& w : workers_)
      if (static_cast<int>(w.calls.size()) < options_.max_in_flight) return true;
    return false;
  }
  std::size_t in_flight() const noexcept {
    std::size_t n = 0;
    for (auto const& w : workers_) n += w.calls.size();
    return n;
  }
  void finished(std::size_t n) {
    if (n == 0) return;
    bool drained;
    {
      std::lock_guard lk(mutex_);
      unfinished_ -= n;
      drained = unfinished_ == 0;
    }
    if (drained) drained_.notify_all();
  }
  void fail_everything(std::exception_ptr e) noexcept;

  boost::mpi::communicator comm_;
  executor_options options_;
  std::atomic<std::uint64_t> ids_{1};
  std::atomic<bool> closed_flag_{false};

  // Shared with submitters, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;     // the progress thread, for a submission or the stop
  std::condition_variable drained_;  // shutdown(wait)
  std::deque<std::unique_ptr<call_base>> queue_;
  std::size_t unfinished_ = 0;  // queued or sent, not yet ended
  bool closed_ = false;
  bool stopping_ = false;
  bool listening_ = false;  // the progress thread sleeps and would send a new call

  // The progress thread's own.
  std::vector<worker_slot> workers_;
  std::vector<int> index_of_rank_;
  std::size_t next_worker_ = 0;
  std::vector<outgoing> sends_;
  std::vector<char> reply_bytes_;
  boost::mpi::request reply_request_;
  std::vector<std::unique_ptr<call_base>> batch_, dropped_;
  std::vector<std::size_t> batch_sizes_;
  std::thread thread_;
};

void root_core::impl::progress() noexcept {
  fine_timer_slack slack;
  backoff wait(options_.busy_poll, options_.max_backoff);
  try {
    reply_request_ = comm_.irecv(boost::mpi::any_source, reply_tag, reply_bytes_);
    for (;;) {
      bool moved = take_replies();
      moved = dispatch() || moved;
      reap(sends_);
      std::unique_lock lk(mutex_);
      if (stopping_ && unfinished_ == 0) break;
      if (moved) {
        wait.reset();
        continue;
      }
      bool const room = has_room();
      if (in_flight() == 0 && sends_.empty()) {
        // Nothing out: sleep until there is something to send, or the stop.
        listening_ = true;
        wake_.wait(lk, [&] { return !queue_.empty() || stopping_; });
        listening_ = false;
        wait.reset();
        continue;
      }
      // Calls out: poll again after a backoff, or at once for a call a worker has room for.
      auto const d = wait.next();
      if (d == microseconds(0)) {
        lk.unlock();
        std::this_thread::yield();
        continue;
      }
      listening_ = room;
      wake_.wait_for(lk, d, [&] { return (room && !queue_.empty()) || stopping_; });
      listening_ = false;
    }
    // Every call is answered: release the workers.
    for (auto const& w : workers_) send_bytes(sends_, comm_, w.rank, stop_tag, {});
    backoff b(options_.busy_poll, options_.max_backoff);
    while (!sends_.empty()) {
      reap(sends_);
      if (!sends_.empty()) b.sleep();
    }
    reply_request_.cancel();  // a probe, not a posted receive: nothing left in MPI
  } catch (...) {
    fail_everything(std::current_exception());
  }
}

bool root_core::impl::take_replies() {
  bool any = false;
  while (auto const st = reply_request_.test()) {
    complete_replies(st->source());
    reply_request_ = comm_.irecv(boost::mpi::any_source, reply_tag, reply_bytes_);
    any = true;
  }
  return any;
}

void root_core::impl::complete_replies(int source) {
  auto const index = source >= 0 && source < static_cast<int>(index_of_rank_.size())
                         ? index_of_rank_[static_cast<std::size_t>(source)]
                         : -1;
  if (index < 0) return;  // not one of ours: cannot happen on our own communicator
  auto& calls = workers_[static_cast<std::size_t>(index)].calls;
  frame_reader r(reply_bytes_.data(), reply_bytes_.size());
  std::size_t done = 0;
  while (!r.at_end()) {
    auto const id = r.get<std::uint64_t>();
    auto const status = static_cast<reply_status>(r.get<std::uint8_t>());
    auto const payload = r.bytes(r.get<std::uint32_t>());
    auto const it =
        std::find_if(calls.begin(), calls.end(), [&](auto const& c) { return c->id == id; });
    if (it == calls.end()) continue;
    auto call = std::move(*it);
    calls.erase(it);
    call->complete(status, payload, source);
    ++done;
  }
  finished(done);
}

namespace {
std::size_t batch_bytes(std::vector<std::unique_ptr<call_base>> const& calls, std::size_t count) {
  std::size_t bytes = 0;
  for (auto i = calls.size() - count; i < calls.size(); ++i) bytes += calls[i]->frame.size();
  return bytes;
}
}  // namespace

bool root_core::impl::dispatch() {
  auto const n = workers_.size();
  batch_sizes_.assign(n, 0);
  bool drained = false;
  {
    std::lock_guard lk(mutex_);
    if (queue_.empty()) return false;
    // One call at a time to the least loaded worker with room, starting after the last one
    // served: idle workers get one call each before any gets a second.
    for (int level = 0; level < options_.max_in_flight && !queue_.empty(); ++level) {
      for (std::size_t k = 0; k < n && !queue_.empty(); ++k) {
        auto const w = (next_worker_ + k) % n;
        if (static_cast<int>(workers_[w].calls.size() + batch_sizes_[w]) != level) continue;
        // Started under the lock, so shutdown(cancel_futures) finds every call either
        // still queued (and cancels it) or running.
        while (!queue_.empty()) {
          auto c = std::move(queue_.front());
          queue_.pop_front();
          if (c->start()) {
            workers_[w].calls.push_back(std::move(c));
            ++batch_sizes_[w];
            break;
          }
          dropped_.push_back(std::move(c));  // cancelled while queued
        }
      }
    }
    unfinished_ -= dropped_.size();
    drained = !dropped_.empty() && unfinished_ == 0;
    next_worker_ = (next_worker_ + 1) % n;
  }
  if (drained) drained_.notify_all();
  bool const any = !dropped_.empty();
  dropped_.clear();
  bool sent = false;
  for (std::size_t w = 0; w < n; ++w) {
    auto const count = batch_sizes_[w];
    if (count == 0) continue;
    auto& calls = workers_[w].calls;
    std::vector<char> message;
    if (count == 1 || batch_bytes(calls, count) > max_message) {
      // One message per call: a lone call, or calls too big to travel together.
      for (auto i = calls.size() - count; i + 1 < calls.size(); ++i)
        send_bytes(sends_, comm_, workers_[w].rank, call_tag, std::move(calls[i]->frame));
      message = std::move(calls.back()->frame);
    } else {
      message.reserve(batch_bytes(calls, count));
      for (auto i = calls.size() - count; i < calls.size(); ++i) {
        auto& f = calls[i]->frame;
        message.insert(message.end(), f.begin(), f.end());
        std::vector<char>().swap(f);
      }
    }
    send_bytes(sends_, comm_, workers_[w].rank, call_tag, std::move(message));
    sent = true;
  }
  return sent || any;
}

void root_core::impl::fail_everything(std::exception_ptr e) noexcept {
  std::string what = "unknown error";
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& x) {
    what = x.what();
  } catch (...) {
  }
  std::cerr << "futura::mpi: the root's progress thread failed (" << what
            << "); aborting the MPI job so that no rank waits for ever" << std::endl;
  boost::mpi::environment::abort(1);
}

root_core::root_core(std::unique_ptr<impl> p) noexcept : p_(std::move(p)) {}
root_core::~root_core() {
  p_->finish();
}
std::uint64_t root_core::next_id() noexcept {
  return p_->ids_.fetch_add(1, std::memory_order_relaxed);
}
void root_core::check_open() const {
  p_->check_open();
}
void root_core::enqueue(std::unique_ptr<call_base> call) {
  p_->enqueue(std::move(call));
}
void root_core::shutdown(bool wait, bool cancel_futures) {
  p_->shutdown(wait, cancel_futures);
}
int root_core::workers() const noexcept {
  return static_cast<int>(p_->workers_.size());
}

// --- a run() on one rank ---------------------------------------------------------------

namespace {
std::atomic<bool> g_session_open{false};
}  // namespace

session::session(boost::mpi::communicator const& comm, executor_options const& options)
    : options_(options) {
  // First, before any MPI call: a nested run() is on a root whose progress thread owns MPI.
  if (g_session_open.exchange(true))  // only a root can get here: its workers are serving
    throw std::logic_error(
        "futura::mpi::run: called from inside another run() on this rank (its body?): "
        "submit to the executor the body was given instead");
  try {
    open(comm, options);
  } catch (...) {
    g_session_open = false;
    throw;
  }
}

void session::open(boost::mpi::communicator const& comm, executor_options const& options) {
  if (!boost::mpi::environment::initialized() || boost::mpi::environment::finalized())
    throw std::logic_error(
        "futura::mpi::run: MPI is not initialized: create a futura::mpi::environment at the "
        "top of main(), on every rank");
  if (auto const level = boost::mpi::environment::thread_level(); level < needed_thread_level) {
    std::ostringstream m;
    m << "futura::mpi::run needs MPI initialized with thread level serialized "
         "(MPI_THREAD_SERIALIZED) or more, for the root's progress thread; this MPI was "
         "initialized with "
      << level
      << ": create a futura::mpi::environment (or a boost::mpi::environment with "
         "boost::mpi::threading::serialized)";
    throw std::runtime_error(m.str());
  }
  if (comm.size() < 2)
    throw std::runtime_error(
        "futura::mpi::run: a single MPI process: rank " + std::to_string(options.root) +
        " submits the calls and the other ranks run them, so it needs at least 2 processes "
        "(mpirun -np 4 ./program: one root and three workers)");
  if (options.root < 0 || options.root >= comm.size())
    throw std::invalid_argument("futura::mpi::run: root " + std::to_string(options.root) +
                                " is not a rank of the communicator (size " +
                                std::to_string(comm.size()) + ")");
  if (options.max_in_flight <= 0)
    throw std::invalid_argument("futura::mpi::run: max_in_flight must be greater than 0");
  check_registrations();
  comm_ = boost::mpi::communicator(comm, boost::mpi::comm_duplicate);  // collective
  if (comm_.rank() == options.root)
    root_ = std::make_unique<root_core>(std::make_unique<root_core::impl>(comm_, options));
}

session::~session() {
  root_.reset();  // finishes (waits, stops the workers, joins) before comm_ is freed
  g_session_open = false;
}

void session::serve() {
  fine_timer_slack slack;
  crash_reporter crash(comm_.rank());
  backoff wait(options_.busy_poll, options_.max_backoff);
  std::vector<outgoing> sends;
  std::vector<char> in;
  auto request = comm_.irecv(options_.root, boost::mpi::any_tag, in);
  for (;;) {
    auto const st = request.test();
    if (!st) {
      reap(sends);
      wait.sleep();
      continue;
    }
    if (st->tag() == stop_tag) break;
    frame_reader r(in.data(), in.size());
    while (!r.at_end()) {
      std::vector<char> out;
      run_call(r, out, crash);
      send_bytes(sends, comm_, options_.root, reply_tag, std::move(out));
    }
    reap(sends);
    request = comm_.irecv(options_.root, boost::mpi::any_tag, in);
    wait.reset();  // after the calls: the next one follows their replies closely
  }
  while (!sends.empty()) {
    reap(sends);
    if (!sends.empty()) wait.sleep();
  }
}

}  // namespace futura::mpi::detail
