#include <futura/boost_future.hpp>

#define BOOST_TEST_MODULE boost_future
#include <boost/test/unit_test.hpp>

#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

BOOST_AUTO_TEST_CASE(wrapped_future_completes_when_the_boost_promise_is_set_on_another_thread) {
  boost::promise<int> p;
  auto f = futura::wrap_future(p.get_future());
  BOOST_TEST(!f.done());
  std::thread::id setter;
  std::thread::id callback_thread;
  f.add_done_callback([&] { callback_thread = std::this_thread::get_id(); });
  std::thread t([&] {
    setter = std::this_thread::get_id();
    p.set_value(42);
  });
  BOOST_TEST(f.result() == 42);
  t.join();
  // No thread was parked: the continuation ran in the thread that set the value.
  BOOST_TEST((callback_thread == setter));
}

BOOST_AUTO_TEST_CASE(a_ready_boost_future_gives_a_done_futura_future_at_once) {
  auto f = futura::wrap_future(boost::make_ready_future(std::string("ready")));
  BOOST_TEST(f.done());
  BOOST_TEST(f.result() == "ready");
}

BOOST_AUTO_TEST_CASE(the_boost_exception_reaches_result) {
  boost::promise<void> p;
  auto f = futura::wrap_future(p.get_future());
  p.set_exception(boost::copy_exception(std::runtime_error("boom")));
  BOOST_CHECK_EXCEPTION(f.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "boom"; });
}

BOOST_AUTO_TEST_CASE(a_dropped_boost_promise_completes_the_future_with_its_broken_promise) {
  futura::future<int> f;
  {
    boost::promise<int> p;
    f = futura::wrap_future(p.get_future());
  }
  BOOST_TEST(f.done());
  BOOST_CHECK_THROW(f.result(), boost::broken_promise);
}

BOOST_AUTO_TEST_CASE(shared_futures_and_move_only_values_are_bridged) {
  boost::promise<std::unique_ptr<int>> p;
  auto f = futura::wrap_future(p.get_future());
  p.set_value(std::make_unique<int>(7));
  BOOST_TEST(*f.result() == 7);

  boost::promise<long> q;
  auto shared = q.get_future().share();
  auto g = futura::wrap_future(shared);
  q.set_value(9);
  BOOST_TEST(g.result() == 9);
  BOOST_TEST(shared.get() == 9);  // the shared future is still usable
}

BOOST_AUTO_TEST_CASE(cancelling_the_wrapper_leaves_the_boost_side_alone) {
  boost::promise<int> p;
  auto bf = p.get_future().share();
  auto f = futura::wrap_future(bf);
  BOOST_TEST(f.cancel());
  p.set_value(1);  // the late value is dropped quietly
  BOOST_TEST(f.cancelled());
  BOOST_TEST(bf.get() == 1);
}

BOOST_AUTO_TEST_CASE(an_empty_boost_future_is_refused) {
  boost::future<int> empty;
  BOOST_CHECK_THROW(futura::wrap_future(std::move(empty)), futura::invalid_state_error);
}
