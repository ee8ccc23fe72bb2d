"""Python client for suppliers and channels (sync and async): planned, no issue asks for it yet."""
