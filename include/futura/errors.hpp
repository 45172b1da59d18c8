// futura/errors.hpp: the exceptions futura throws, and where callback errors go.
#ifndef FUTURA_ERRORS_HPP
#define FUTURA_ERRORS_HPP

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace futura {

/// Base of every futura exception (Python's concurrent.futures.Error).
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The future was cancelled (CancelledError). `what()` carries the cancel message, if any.
class cancelled_error : public error {
 public:
  /// what() is "cancelled".
  cancelled_error() : error("cancelled") {}
  /// what() is `msg` (the message given to future::cancel(msg)), or "cancelled" if empty.
  explicit cancelled_error(std::string const& msg) : error(msg.empty() ? "cancelled" : msg) {}
};

/// A timed wait ran out (TimeoutError).
class timeout_error : public error {
 public:
  /// what() is "timed out".
  timeout_error() : error("timed out") {}
  /// what() is `msg`.
  explicit timeout_error(std::string const& msg) : error(msg) {}
};

/// An operation is not allowed in the future's current state (InvalidStateError).
class invalid_state_error : public error {
 public:
  using error::error;
};

/// The executor can no longer run work (BrokenExecutor, also "after shutdown").
class broken_executor : public error {
 public:
  using error::error;
};

/// A thread pool whose initializer failed (BrokenThreadPool).
class broken_thread_pool : public broken_executor {
 public:
  /// what() says that a thread initializer failed, as Python's message does.
  broken_thread_pool()
      : broken_executor("A thread initializer failed, the thread pool is not usable anymore") {}
  using broken_executor::broken_executor;
};

/// The producer went away without completing the future: a dropped promise, a handler
/// destroyed without being called, an executor destroyed with the work still queued.
class broken_promise : public error {
 public:
  /// what() says that the producer was destroyed without a result.
  broken_promise() : error("broken promise: the producer was destroyed without a result") {}
  using error::error;
};

/// Several failures at once (Python's ExceptionGroup): what a task_group throws when some
/// of its children failed. `what()` says how many, as Python does.
class exception_group : public error {
 public:
  /// what() is `message` and the count, as Python's: "unhandled errors in a TaskGroup
  /// (2 sub-exceptions)".
  exception_group(std::string const& message, std::vector<std::exception_ptr> exceptions)
      : error(message + " (" + std::to_string(exceptions.size()) + " sub-exception" +
              (exceptions.size() == 1 ? ")" : "s)")),
        exceptions_(std::move(exceptions)) {}
  /// The failures, in the order they happened.
  std::vector<std::exception_ptr> const& exceptions() const noexcept { return exceptions_; }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

/// Receives what futura cannot throw: a callback that threw, an exception never retrieved,
/// a failing thread initializer. `what` is Python's log line, e.g.
/// "exception calling callback for <Future at 0x... state=finished returned int>".
using callback_error_handler = void (*)(std::exception_ptr, std::string_view what);

/// Installs `h` (nullptr restores the default, one line on stderr) and returns the previous
/// handler. Thread-safe; the handler itself may be called from any thread, concurrently.
callback_error_handler set_callback_error_handler(callback_error_handler h) noexcept;

namespace detail {
/// Calls the installed handler; never throws.
void report_error(std::exception_ptr e, std::string_view what) noexcept;
}  // namespace detail

}  // namespace futura

#endif
