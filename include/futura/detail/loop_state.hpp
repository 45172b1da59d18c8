// futura/detail/loop_state.hpp: shared states that know an executor. A loop-bound state
// posts its done callbacks to its loop and refuses a blocking wait from the loop's own
// thread; an operation state can also interrupt its producer through a cancellation
// signal that lives in the same allocation.
#ifndef FUTURA_DETAIL_LOOP_STATE_HPP
#define FUTURA_DETAIL_LOOP_STATE_HPP

#include <futura/detail/io_executor.hpp>
#include <futura/future.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace futura::detail {

/// Futures whose executor runs on an io_context are asyncio's: loop-bound. On a thread
/// pool they are concurrent.futures': callbacks inline, blocking result() allowed.
template <class Executor>
bool is_loop_executor(Executor const& ex) noexcept {
  return io_context_of(ex) != nullptr;
}

/// A state that belongs to a loop (create_future(executor), create_task, use_future).
template <class T, class Executor>
class loop_state : public state<T> {
 public:
  static loop_state* create(Executor ex) {
    return new loop_state(std::move(ex), state_base::loop_bound);
  }

  Executor const& get_executor() const noexcept { return ex_; }

  void post(node* n) noexcept override {
    try {
      boost::asio::post(ex_, posted_node(n, this));
    } catch (...) {  // posted_node discarded n
      report_error(std::current_exception(), "cannot post a done callback to its loop");
    }
  }

  bool in_loop_thread() const noexcept override {
    auto* io = io_context_of(ex_);
    return io && io->get_executor().running_in_this_thread();
  }

  // States made and dropped on a loop's threads come from Asio's per-thread cache, as the
  // loop's own operations do.
  static void* operator new(std::size_t size) {
    return boost::asio::recycling_allocator<unsigned char>().allocate(size);
  }
  static void operator delete(void* p, std::size_t size) noexcept {
    boost::asio::recycling_allocator<unsigned char>().deallocate(static_cast<unsigned char*>(p),
                                                                 size);
  }

 protected:
  loop_state(Executor ex, std::uint8_t traits, std::uint32_t initial_status = pending,
             std::uint32_t initial_refs = 1)
      : state<T>(traits, initial_status, initial_refs), ex_(std::move(ex)) {}

  Executor ex_;
};

/// The state of an Asio operation or a task: a loop state whose running producer can be
/// interrupted. cancel() emits the signal on the operation's executor, since cancellation
/// signals are not thread-safe; the operation then completes with operation_aborted.
template <class T, class Executor>
class op_state final : public loop_state<T, Executor> {
 public:
  /// `started`: the operation is under way already (running), and the state is created
  /// with the references of the future and of the handler.
  static op_state* create(Executor ex, bool started = false) {
    auto const loop = is_loop_executor(ex) ? state_base::loop_bound : state_base::plain;
    return new op_state(std::move(ex), loop | state_base::interruptible,
                        started ? running : pending, started ? 2 : 1);
  }

  boost::asio::cancellation_slot slot() noexcept { return signal_.slot(); }

 private:
  using loop_state<T, Executor>::loop_state;

  void interrupt() noexcept override {
    try {
      this->add_ref();  // for the handle the lambda adopts
      boost::asio::post(this->ex_, [ref = adopt<T>(this)] {
        auto* self = static_cast<op_state*>(state_of(ref));
        if (!self->done()) self->signal_.emit(boost::asio::cancellation_type::all);
      });
    } catch (...) {
      report_error(std::current_exception(), "cannot post a cancellation to its executor");
    }
  }

  boost::asio::cancellation_signal signal_;
};

}  // namespace futura::detail

#endif
