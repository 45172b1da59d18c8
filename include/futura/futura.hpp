// futura/futura.hpp: everything futura offers. Boost.Thread interop lives apart, in
// <futura/boost_future.hpp>, so that only its users link Boost.Thread.
#ifndef FUTURA_FUTURA_HPP
#define FUTURA_FUTURA_HPP

/// \namespace futura
/// Python's futures on Boost.Asio. concurrent.futures: future, promise,
/// thread_pool_executor, submit, wait, as_completed. asyncio: loop-bound futures,
/// create_task, run, sleep, wait_for, timeout, shield, gather, task_group, semaphore, and
/// use_future for Asio operations. The exceptions are Python's (errors.hpp). Nothing in
/// `futura::detail` is part of the interface.

#include <futura/as_completed.hpp>
#include <futura/awaitable_operators.hpp>
#include <futura/errors.hpp>
#include <futura/future.hpp>
#include <futura/gather.hpp>
#include <futura/loop.hpp>
#include <futura/promise.hpp>
#include <futura/semaphore.hpp>
#include <futura/submit.hpp>
#include <futura/task_group.hpp>
#include <futura/thread_pool_executor.hpp>
#include <futura/use_future.hpp>
#include <futura/wait.hpp>

#endif
