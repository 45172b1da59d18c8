// Must not compile: wait_for takes the future first (asyncio.wait_for(aw, timeout)); the
// error says so. Run by CTest, which looks for the message.
#include <futura/loop.hpp>

#include <chrono>

boost::asio::awaitable<int> wrong_order(futura::future<int> f) {
  co_return co_await futura::wait_for(std::chrono::seconds(1), f);
}
