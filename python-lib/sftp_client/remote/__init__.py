"""Remote tree wing: walking and listing a server's tree (raw names included),
partial files and atomic commits, pipelined reads and writes, paramiko's errors
translated. Imports ``connect`` and the shared top-level modules only."""
