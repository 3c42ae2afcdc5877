"""What httpcore's connection pool (under PTB's HTTPXRequest) costs per bookkeeping pass, by open connections.

Run: .venv/bin/python -m benchmarks.httpcore_pool_cost
PTB builds its httpx client with Limits(max_connections=connection_pool_size) and no keep-alive cap, so
every connection opened under concurrency stays in the pool. httpcore runs
AsyncConnectionPool._assign_requests_to_connections when a request starts and when a response closes;
for each idle connection it lists every connection (O(n²)) and asks the socket whether it is readable.
This opens n keep-alive connections to a local aiohttp server, then times that pass alone (CPU µs);
it also times `import sniffio`'s failure, which httpcore repeats on every lock and event it sets up
when sniffio is not installed.
"""

import asyncio
import time

import httpx
from aiohttp import web
from httpcore._synchronization import current_async_library

PASSES = 200


async def hold(request: web.Request) -> web.Response:
    await asyncio.sleep(0.05)  # keeps the warm-up requests in flight together, one connection each
    return web.Response(text="{}")


async def pass_cost(url: str, connections: int) -> tuple[int, float]:
    """(idle connections, CPU µs of one bookkeeping pass) with `connections` opened."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:
        await asyncio.gather(*(client.get(url) for _ in range(connections)))
        pool = client._transport._pool  # type: ignore[attr-defined]
        started = time.process_time()
        for _ in range(PASSES):
            pool._assign_requests_to_connections()
        return len(pool.connections), (time.process_time() - started) / PASSES * 1e6


async def main() -> None:
    app = web.Application()
    app.router.add_get("/", hold)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        started = time.process_time()
        for _ in range(PASSES):
            current_async_library()
        print(f"httpcore current_async_library(): {(time.process_time() - started) / PASSES * 1e6:.0f} µs")
        for connections in (1, 8, 16, 32, 64, 128):
            idle, cost = await pass_cost(url, connections)
            print(f"{idle:>4} idle connections: {cost:>7.0f} µs per pass")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
