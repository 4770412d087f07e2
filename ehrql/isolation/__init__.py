"""Keeping a researcher's definition away from the data.

A definition is untrusted code. Every command runs it in a separate Python
process (`ehrql.isolation.child`) that:

- gets an environment with only a locale and a private temporary directory,
  and a command line with none of ehrql's options;
- cannot read outside the study directory, the Python installation, ehrql and
  the system's shared libraries (Landlock), nor the database file even when
  it sits in the study directory;
- cannot write outside its private temporary directory (Landlock);
- cannot open sockets, connect or bind over TCP (seccomp and Landlock);
- cannot start programs or processes, nor read other processes' memory (seccomp);
- is stopped after a time limit (`EHRQL_USER_CODE_TIMEOUT`, default 600 s).

It sends back only the serialized query model and settings, which the parent
rebuilds into fresh, validated nodes: nothing the definition does to ehrql in
its own process can change how the parent compiles or runs the query.
"""
