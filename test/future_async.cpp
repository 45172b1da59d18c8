#include <futura/future.hpp>

#define BOOST_TEST_MODULE future_async
#include <boost/test/unit_test.hpp>

#include <futura/loop.hpp>
#include <futura/promise.hpp>
#include <futura/submit.hpp>
#include <futura/use_future.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace asio = boost::asio;

namespace {

template <class E>
bool holds(std::exception_ptr const& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (E const&) {
    return true;
  } catch (...) {
  }
  return false;
}

asio::awaitable<int> plus_one(futura::future<int> f) {
  futura::future<int> named = f;
  int const v = co_await named;
  co_return v + 1;
}

futura::future<int> done_with(int v) {
  futura::promise<int> p;
  auto f = p.get_future();
  p.set_result(v);
  return f;
}

asio::awaitable<int> awaits_a_temporary() {
  co_return co_await done_with(20) +
      co_await futura::create_task(co_await asio::this_coro::executor, plus_one(done_with(1)));
}

/// Notes whether it ever suspended between its start and its end.
asio::awaitable<int> awaits_done_future(futura::future<int> f, bool& finished) {
  int const v = co_await f;
  finished = true;
  co_return v;
}

asio::awaitable<int> finishes_at_once(bool& finished) {
  finished = true;
  co_return 0;
}

/// How many handlers the loop runs until `flag` is set.
int turns_until(asio::io_context& ioc, bool const& flag) {
  int turns = 0;
  while (!flag && turns < 100 && ioc.run_one()) ++turns;
  return turns;
}

asio::awaitable<void> awaits_void(futura::future<void> f) {
  co_await f;
}

asio::awaitable<std::unique_ptr<int>> awaits_move_only(futura::future<std::unique_ptr<int>> f) {
  co_return co_await f;
}

/// Awaits a pool future; notes whether it resumed on the loop's thread.
asio::awaitable<int> awaits_on_loop(futura::future<int> f, asio::io_context& ioc, bool& on_loop) {
  int const v = co_await f;
  on_loop = ioc.get_executor().running_in_this_thread();
  co_return v;
}

asio::awaitable<int> awaits_with_use_awaitable(futura::future<int> f) {
  co_return co_await f.async_wait(asio::use_awaitable);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(co_await_future)

BOOST_AUTO_TEST_CASE(co_await_on_a_named_future_gives_its_value) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, plus_one(f));
  ioc.poll();
  BOOST_TEST(!task.done());
  f.set_result(41);
  ioc.run();
  BOOST_TEST(task.result() == 42);
}

BOOST_AUTO_TEST_CASE(co_await_on_a_temporary_future_gives_its_value) {
  asio::io_context ioc;
  auto task = futura::create_task(ioc, awaits_a_temporary());
  ioc.run();
  BOOST_TEST(task.result() == 22);
}

BOOST_AUTO_TEST_CASE(co_await_on_a_done_future_does_not_suspend) {
  asio::io_context ioc;
  bool finished = false, baseline_finished = false;
  auto baseline = futura::create_task(ioc, finishes_at_once(baseline_finished));
  auto const baseline_turns = turns_until(ioc, baseline_finished);
  ioc.run();
  ioc.restart();
  auto task = futura::create_task(ioc, awaits_done_future(done_with(3), finished));
  BOOST_TEST(turns_until(ioc, finished) == baseline_turns);  // not one turn more
  ioc.restart();
  ioc.run();
  BOOST_TEST(task.result() == 3);
}

BOOST_AUTO_TEST_CASE(co_await_on_a_pending_future_suspends_until_it_is_done) {
  asio::io_context ioc;
  bool finished = false;
  auto f = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, awaits_done_future(f, finished));
  ioc.poll();
  BOOST_TEST(!finished);
  f.set_result(4);
  ioc.run();
  BOOST_TEST(finished);
  BOOST_TEST(task.result() == 4);
}

BOOST_AUTO_TEST_CASE(co_await_on_a_future_void_returns_when_it_is_done) {
  asio::io_context ioc;
  auto f = futura::create_future<void>(ioc);
  auto task = futura::create_task(ioc, awaits_void(f));
  ioc.poll();
  BOOST_TEST(!task.done());
  f.set_result();
  ioc.run();
  BOOST_CHECK_NO_THROW(task.result());
}

BOOST_AUTO_TEST_CASE(co_await_on_a_move_only_value_moves_it_out) {
  asio::io_context ioc;
  auto f = futura::create_future<std::unique_ptr<int>>(ioc);
  auto task = futura::create_task(ioc, awaits_move_only(f));
  f.set_result(std::make_unique<int>(7));
  ioc.run();
  BOOST_REQUIRE(task.result());
  BOOST_TEST(*task.result() == 7);
}

BOOST_AUTO_TEST_CASE(co_await_rethrows_the_stored_exception) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  auto const e = std::make_exception_ptr(std::runtime_error("stored"));
  f.set_exception(e);
  auto task = futura::create_task(ioc, plus_one(f));
  ioc.run();
  BOOST_TEST((task.exception() == e));
}

BOOST_AUTO_TEST_CASE(co_await_on_a_cancelled_future_throws_cancelled_error) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  bool caught = false;
  auto task = futura::create_task(ioc, [](futura::future<int> f, bool& c) -> asio::awaitable<int> {
    try {
      co_return co_await f;
    } catch (futura::cancelled_error const&) {
      c = true;
      co_return -1;
    }
  }(f, caught));
  ioc.poll();
  f.cancel();
  ioc.run();
  BOOST_TEST(caught);
  BOOST_TEST(task.result() == -1);
}

BOOST_AUTO_TEST_CASE(a_pool_future_awaited_on_a_loop_resumes_on_the_loop_and_keeps_run_busy) {
  asio::io_context ioc;
  asio::thread_pool pool(1);
  std::latch release(1);
  auto f = futura::submit(pool.get_executor(), [&] {
    release.wait();
    return 9;
  });
  bool on_loop = false;
  auto task = futura::create_task(ioc, awaits_on_loop(f, ioc, on_loop));
  asio::post(ioc, [&] { release.count_down(); });  // after the coroutine started waiting
  ioc.run();                                       // returns only once the coroutine is done
  BOOST_TEST(task.done());
  BOOST_TEST(task.result() == 9);
  BOOST_TEST(on_loop);
  pool.join();
}

BOOST_AUTO_TEST_CASE(a_coroutine_cancelled_while_awaiting_a_future_cancels_that_future) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  asio::cancellation_signal signal;
  std::exception_ptr outcome;
  asio::co_spawn(
      ioc, plus_one(f),
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { outcome = e; }));
  ioc.poll();
  BOOST_TEST(!f.done());
  signal.emit(asio::cancellation_type::terminal);
  ioc.run();
  BOOST_TEST(f.cancelled());
  BOOST_TEST(holds<futura::cancelled_error>(outcome));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(async_wait)

BOOST_AUTO_TEST_CASE(async_wait_with_use_awaitable_gives_the_value) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, awaits_with_use_awaitable(f));
  ioc.poll();
  f.set_result(5);
  ioc.run();
  BOOST_TEST(task.result() == 5);
}

BOOST_AUTO_TEST_CASE(async_wait_with_use_awaitable_rethrows) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  f.set_exception(std::logic_error("awaited"));
  auto task = futura::create_task(ioc, awaits_with_use_awaitable(f));
  ioc.run();
  BOOST_CHECK_THROW(task.result(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(async_wait_with_deferred_starts_only_when_launched) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  auto op = f.async_wait(asio::deferred);
  int seen = 0;
  std::move(op)([&](std::exception_ptr e, int v) {
    if (!e) seen = v;
  });
  f.set_result(6);
  BOOST_TEST(seen == 0);
  ioc.run();
  BOOST_TEST(seen == 6);
}

BOOST_AUTO_TEST_CASE(a_plain_callback_on_a_future_without_a_loop_runs_in_the_completing_thread) {
  futura::promise<int> p;
  auto f = p.get_future();
  std::thread::id ran_on;
  int seen = 0;
  f.async_wait([&](std::exception_ptr, int v) {
    ran_on = std::this_thread::get_id();
    seen = v;
  });
  BOOST_TEST(seen == 0);
  std::thread producer([&] { p.set_result(8); });
  auto const producer_id = producer.get_id();
  producer.join();
  BOOST_TEST(seen == 8);
  BOOST_TEST((ran_on == producer_id));
}

BOOST_AUTO_TEST_CASE(a_plain_callback_on_a_loop_future_runs_on_the_loop_never_inside_set_result) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  bool on_loop = false;
  int seen = 0;
  f.async_wait([&](std::exception_ptr, int v) {
    on_loop = ioc.get_executor().running_in_this_thread();
    seen = v;
  });
  f.set_result(2);
  BOOST_TEST(seen == 0);
  ioc.run();
  BOOST_TEST(seen == 2);
  BOOST_TEST(on_loop);
}

BOOST_AUTO_TEST_CASE(a_callback_bound_to_an_executor_runs_there) {
  asio::io_context ioc;
  futura::promise<int> p;
  auto f = p.get_future();
  bool on_loop = false;
  int seen = 0;
  f.async_wait(asio::bind_executor(ioc, [&](std::exception_ptr, int v) {
    on_loop = ioc.get_executor().running_in_this_thread();
    seen = v;
  }));
  std::thread producer([&] { p.set_result(3); });
  ioc.run();  // the pending wait keeps run() busy until the handler has run
  producer.join();
  BOOST_TEST(seen == 3);
  BOOST_TEST(on_loop);
}

BOOST_AUTO_TEST_CASE(async_wait_with_use_future_returns_a_future_of_the_value) {
  futura::promise<int> p, q, r;
  auto f = p.get_future().async_wait(futura::use_future);
  auto g = q.get_future().async_wait(futura::use_future);
  auto h = r.get_future().async_wait(futura::use_future);
  static_assert(std::is_same_v<decltype(f), futura::future<int>>);
  BOOST_TEST(!(f == p.get_future()));
  BOOST_TEST(!f.done());
  p.set_result(10);
  q.set_exception(std::make_exception_ptr(std::out_of_range("range")));
  r.get_future().cancel();
  BOOST_TEST(f.result() == 10);
  BOOST_CHECK_THROW(g.result(), std::out_of_range);
  BOOST_TEST(h.cancelled());
}

BOOST_AUTO_TEST_CASE(a_parallel_group_waiting_for_one_cancels_the_other_future) {
  asio::io_context ioc;
  auto first = futura::create_future<int>(ioc);
  auto second = futura::create_future<int>(ioc);
  std::array<std::size_t, 2> order{};
  std::exception_ptr e1, e2;
  int v1 = 0;
  asio::experimental::make_parallel_group(first.async_wait(asio::deferred),
                                          second.async_wait(asio::deferred))
      .async_wait(asio::experimental::wait_for_one(),
                  asio::bind_executor(ioc, [&](std::array<std::size_t, 2> o, std::exception_ptr a,
                                               int x, std::exception_ptr b, int) {
                    order = o;
                    e1 = a;
                    v1 = x;
                    e2 = b;
                  }));
  first.set_result(1);
  ioc.run();
  BOOST_TEST(order[0] == 0u);
  BOOST_TEST(order[1] == 1u);
  BOOST_TEST(!e1);
  BOOST_TEST(v1 == 1);
  BOOST_TEST(holds<futura::cancelled_error>(e2));
  BOOST_TEST(second.cancelled());
}

BOOST_AUTO_TEST_CASE(emitting_the_slot_of_a_plain_callback_cancels_the_future) {
  futura::promise<int> p;
  auto f = p.get_future();
  asio::cancellation_signal signal;
  std::exception_ptr outcome;
  f.async_wait(
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { outcome = e; }));
  signal.emit(asio::cancellation_type::terminal);
  BOOST_TEST(f.cancelled());
  BOOST_TEST(holds<futura::cancelled_error>(outcome));
}

BOOST_AUTO_TEST_CASE(a_future_dropped_by_every_handle_while_awaited_delivers_broken_promise) {
  std::exception_ptr outcome;
  bool called = false;
  {
    auto f = futura::create_future<int>();
    f.async_wait([&](std::exception_ptr e, int) {
      called = true;
      outcome = e;
    });
  }
  BOOST_TEST(called);
  BOOST_TEST(holds<futura::broken_promise>(outcome));
}

BOOST_AUTO_TEST_CASE(callbacks_posted_to_a_destroyed_io_context_are_released_unrun) {
  auto const token = std::make_shared<int>(0);
  bool ran = false;
  futura::future<int> f, task;
  {
    asio::io_context ioc;
    f = futura::create_future<int>(ioc);
    f.add_done_callback([token, &ran] { ran = true; });
    f.async_wait([token, &ran](std::exception_ptr, int) { ran = true; });
    task = futura::create_task(ioc, plus_one(f));
    ioc.poll();  // the task now waits on f
    f.set_result(1);
    BOOST_TEST(token.use_count() == 3);
  }  // the io_context dies with the callbacks and the task's resumption queued
  BOOST_TEST(!ran);
  BOOST_TEST(token.use_count() == 1);
  BOOST_CHECK_THROW(task.result(), futura::broken_promise);
}

// An io_context torn down while a coroutine awaits a thread-pool future: the waiter is
// taken off the future and the coroutine is destroyed, as Asio does with its own pending
// operations; the future completing afterwards posts nowhere (ASan would see it).
BOOST_AUTO_TEST_CASE(an_io_context_destroyed_while_a_coroutine_awaits_a_pool_future_is_safe) {
  asio::thread_pool pool(1);
  std::latch release(1);
  auto slow = futura::submit(pool.get_executor(), [&] {
    release.wait();
    return 1;
  });
  auto frame_alive = std::make_shared<int>(0);
  bool resumed = false;
  {
    asio::io_context ioc;
    asio::co_spawn(
        ioc,
        [](futura::future<int> f, std::shared_ptr<int> alive,
           bool& resumed) -> asio::awaitable<void> {
          co_await f;
          resumed = true;
          (void)alive;
        }(slow, frame_alive, resumed),
        asio::detached);
    ioc.run_one();  // the coroutine now waits on the pool future
    BOOST_TEST(frame_alive.use_count() == 2);
  }
  BOOST_TEST(frame_alive.use_count() == 1);  // the coroutine frame is gone
  release.count_down();
  BOOST_TEST(slow.result() == 1);
  pool.join();
  BOOST_TEST(!resumed);
}

// The same for async_wait with a handler bound to the dying io_context's executor.
BOOST_AUTO_TEST_CASE(a_bound_async_wait_handler_is_destroyed_uncalled_with_its_io_context) {
  auto p = std::make_unique<futura::promise<int>>();
  auto f = p->get_future();
  auto token = std::make_shared<int>(0);
  bool called = false;
  {
    asio::io_context ioc;
    f.async_wait(
        asio::bind_executor(ioc, [&called, token](std::exception_ptr, int) { called = true; }));
    BOOST_TEST(token.use_count() == 2);
  }
  BOOST_TEST(token.use_count() == 1);  // the handler was destroyed with its context
  p->set_result(5);                    // and completing the future posts nowhere
  BOOST_TEST(!called);
  BOOST_TEST(f.result() == 5);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 8: a callback bound to an io_context's executor, on a future from elsewhere, is
// dropped with that io_context; the future completing later posts nowhere.
BOOST_AUTO_TEST_CASE(a_callback_bound_to_a_destroyed_io_context_is_dropped_with_it) {
  futura::promise<int> p;
  auto f = p.get_future();
  auto const token = std::make_shared<int>(0);
  bool ran = false;
  {
    asio::io_context ioc;
    f.add_done_callback(asio::bind_executor(ioc, [token, &ran] { ran = true; }));
    BOOST_TEST(token.use_count() == 2);
  }
  BOOST_TEST(token.use_count() == 1);
  p.set_result(1);
  BOOST_TEST(!ran);
}

// Issue 8, sections 3 and 4: inline resumption, handlers that throw, empty handles,
// references, move-only values.
BOOST_AUTO_TEST_SUITE(hardening)

namespace {
thread_local int t_depth = 0;  // coroutines of the chain below running on this thread

/// Awaits `in`, then completes `out` from inside the loop: the next coroutine must not
/// run inside that set_result.
asio::awaitable<void> relay(futura::future<int> in, futura::future<int> out, int& max_depth) {
  int const v = co_await in;
  ++t_depth;
  max_depth = std::max(max_depth, t_depth);
  out.set_result(v + 1);
  --t_depth;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_coroutine_resumed_by_an_operation_does_not_resume_others_inside_set_result) {
  asio::io_context ioc;
  int constexpr n = 1000;
  std::vector<futura::future<int>> links{futura::create_future<int>(ioc)};
  int max_depth = 0;
  // The first link is an Asio operation's future: its waiter may resume inline, once.
  auto first = asio::post(ioc, futura::use_future([] { return 0; }));
  asio::co_spawn(ioc, relay(first, links[0], max_depth), asio::detached);
  for (int i = 0; i < n; ++i) {
    links.push_back(futura::create_future<int>(ioc));
    asio::co_spawn(ioc, relay(links[i], links[i + 1], max_depth), asio::detached);
  }
  ioc.run();
  BOOST_TEST(links.back().result() == n + 1);
  BOOST_TEST(max_depth == 1);  // each on a turn of its own, not nested n deep
}

BOOST_AUTO_TEST_CASE(co_await_on_an_empty_future_throws_where_it_can_be_caught) {
  asio::io_context ioc;
  bool caught = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        futura::future<int> empty;
        try {
          (void)co_await empty;
        } catch (futura::invalid_state_error const&) {
          caught = true;
        }
      },
      asio::detached);
  ioc.run();
  BOOST_TEST(caught);
}

BOOST_AUTO_TEST_CASE(a_throwing_async_wait_handler_leaves_run_as_asio_handlers_do) {
  asio::io_context ioc;
  futura::promise<int> p;
  p.get_future().async_wait(asio::bind_executor(
      ioc, [](std::exception_ptr, int) { throw std::runtime_error("from the handler"); }));
  p.set_result(1);
  BOOST_CHECK_THROW(ioc.run(), std::runtime_error);
  // The same when the handler resumes right after an operation completed its future.
  ioc.restart();
  auto op = asio::post(ioc, futura::use_future([] { return 2; }));
  op.async_wait(asio::bind_executor(
      ioc, [](std::exception_ptr, int) { throw std::runtime_error("inline too"); }));
  BOOST_CHECK_THROW(ioc.run(), std::runtime_error);
}

namespace {
/// Copying it throws once armed.
struct throws_when_copied {
  static inline bool armed = false;
  throws_when_copied() = default;
  throws_when_copied(throws_when_copied const&) {
    if (armed) throw std::runtime_error("copy failed");
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_value_whose_copy_throws_leaves_run_instead_of_terminating) {
  asio::io_context ioc;
  futura::promise<throws_when_copied> p;
  bool called = false;
  p.get_future().async_wait(
      asio::bind_executor(ioc, [&](std::exception_ptr, throws_when_copied) { called = true; }));
  p.set_result();
  throws_when_copied::armed = true;
  BOOST_CHECK_THROW(ioc.run(), std::runtime_error);
  throws_when_copied::armed = false;
  BOOST_TEST(!called);
}

BOOST_AUTO_TEST_CASE(async_wait_on_a_future_of_a_reference_delivers_a_pointer_null_on_error) {
  int x = 5;
  auto ok = futura::create_future<int&>();
  ok.set_result(x);
  int* got = nullptr;
  ok.async_wait([&](std::exception_ptr e, int* p) {
    BOOST_TEST(!e);
    got = p;
  });
  BOOST_TEST(got == &x);
  auto failed = futura::create_future<int&>();
  failed.set_exception(std::runtime_error("no int"));
  bool null_on_error = false;
  failed.async_wait([&](std::exception_ptr e, int* p) { null_on_error = e && !p; });
  BOOST_TEST(null_on_error);
}

BOOST_AUTO_TEST_CASE(a_move_only_value_goes_to_one_waiter_and_everyone_after_is_told) {
  asio::io_context ioc;
  futura::promise<std::unique_ptr<int>> p;
  auto f = p.get_future();
  int taken = 0, refused = 0;
  for (int i = 0; i < 2; ++i)
    asio::co_spawn(
        ioc,
        [](futura::future<std::unique_ptr<int>> mine, int& taken,
           int& refused) -> asio::awaitable<void> {
          try {
            std::unique_ptr<int> v = co_await mine;
            taken += *v == 7;
          } catch (futura::invalid_state_error const&) {
            ++refused;
          }
        }(f, taken, refused),
        asio::detached);
  ioc.poll();  // both wait
  p.set_result(std::make_unique<int>(7));
  ioc.run();
  BOOST_TEST(taken == 1);
  BOOST_TEST(refused == 1);
  BOOST_CHECK_THROW((void)f.result(), futura::invalid_state_error);  // never a moved-from value
}

// Issue 10: the type-erased future<> waits like the future it came from.
BOOST_AUTO_TEST_CASE(co_await_on_an_erased_future_waits_and_rethrows_without_a_value) {
  asio::io_context ioc;
  futura::promise<std::string> ok;
  futura::promise<int> bad;
  std::vector<std::string> seen;
  asio::co_spawn(
      ioc,
      [](futura::future<> a, futura::future<> b,
         std::vector<std::string>& seen) -> asio::awaitable<void> {
        co_await a;
        seen.push_back(a.as<std::string>().result());
        try {
          co_await b;
        } catch (std::out_of_range const& e) {
          seen.push_back(e.what());
        }
      }(ok.get_future(), bad.get_future(), seen),
      asio::detached);
  ioc.poll();
  BOOST_TEST(seen.empty());
  ok.set_result("first");
  bad.set_exception(std::out_of_range("second"));
  ioc.run();
  BOOST_TEST((seen == std::vector<std::string>{"first", "second"}));
}

BOOST_AUTO_TEST_CASE(cancelling_a_wait_on_an_erased_future_cancels_the_original) {
  asio::io_context ioc;
  futura::promise<int> p;
  auto typed = p.get_future();
  futura::future<> erased = typed;
  asio::cancellation_signal signal;
  std::exception_ptr outcome;
  bool called = false;
  erased.async_wait(asio::bind_cancellation_slot(
      signal.slot(), asio::bind_executor(ioc, [&](std::exception_ptr e) {
        called = true;
        outcome = e;
      })));
  ioc.poll();
  BOOST_TEST(!called);
  signal.emit(asio::cancellation_type::terminal);
  ioc.run();
  BOOST_TEST(called);
  BOOST_TEST(typed.cancelled());
  BOOST_CHECK_THROW(std::rethrow_exception(outcome), futura::cancelled_error);
}

// Issue 10: then() on a loop-bound future runs fn on the loop, never inside set_result,
// and the continuation belongs to the same loop.
BOOST_AUTO_TEST_CASE(then_on_a_loop_future_posts_fn_to_the_loop_and_follows_it) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  bool ran = false, on_loop = false;
  auto g = f.then([&](int x) {
    ran = true;
    on_loop = ioc.get_executor().running_in_this_thread();
    return x * 2;
  });
  std::string refused;
  asio::post(ioc, [&] {
    f.set_result(21);
    BOOST_TEST(!ran);  // asyncio: nothing runs inside set_result
    try {
      (void)g.result();  // a blocking wait on the loop's own thread would never end
    } catch (futura::invalid_state_error const& e) {
      refused = e.what();
    }
  });
  ioc.run();
  BOOST_TEST(ran);
  BOOST_TEST(on_loop);
  BOOST_TEST(refused == "Result is not set.");
  BOOST_TEST(g.result() == 42);
}

BOOST_AUTO_TEST_CASE(then_runs_fn_on_its_associated_executor) {
  asio::io_context ioc;
  futura::promise<int> p;
  bool on_loop = false;
  auto g = p.get_future().then(asio::bind_executor(ioc, [&](int x) {
    on_loop = ioc.get_executor().running_in_this_thread();
    return x + 1;
  }));
  p.set_result(1);  // from this thread, which does not run ioc
  BOOST_TEST(!g.done());
  ioc.run();
  BOOST_TEST(on_loop);
  BOOST_TEST(g.result() == 2);
}

BOOST_AUTO_TEST_SUITE_END()
