"""The log-pattern catalogue: a log line in, the mechanism it names out (data, pure).

Read by `triage.detect_logs` for log excerpts and by `triage.detect_common` for
termination and condition messages (Knative fills a termination message with the log
tail). Each pattern maps a regular expression to a cause, the category it points to when
nothing rolled out, a summary and an action; named groups (`endpoint`, `host`, `port`,
`feature`, `path`) are filled into the texts. Users add their own in the configuration
file (`diagnosis.log_patterns`); theirs are tried first.
"""

from __future__ import annotations

import re

from bot.triage.log_pattern import LogPattern, pattern


def _endpoint(n: int) -> str:
    """A host and port, as requests/urllib3 or a URL or `host:port` write it (groups end in n)."""
    return (
        rf"(?:host='(?P<host{n}>[\w.-]+)',\s*port=(?P<port{n}>\d+)"
        rf"|(?:host|server at) \"(?P<hostq{n}>[\w.-]+)\".{{0,80}}?port (?P<portq{n}>\d+)"
        rf"|(?P<endpoint{n}>(?:[a-z][\w+.-]*://)?[a-z][\w-]*(?:\.[\w-]+)*:\d{{2,5}}"
        rf"|(?:\d{{1,3}}\.){{3}}\d{{1,3}}:\d{{2,5}}))"
    )


_INFRA, _DATA = "infrastructure", "data-drift"
_DEP_ACTION = "Check {endpoint}: is it up, reachable from the model's namespace, and resolving?"

CATALOGUE: tuple[LogPattern, ...] = (
    pattern(
        "own-port-refused",
        r"(?:probe|health|readiness|liveness).{0,200}(?:127\.0\.0\.1|localhost|0\.0\.0\.0)"
        r":(?P<port>\d+).{0,60}connection refused",
        "probe",
        _INFRA,
        0.75,
        "Nothing answers on the port the probes use ({port}): connection refused",
        "Make the container port match the port the model server listens on.",
        "fix-config",
    ),
    pattern(
        "image-fetch",
        r"Unable to fetch image|failed to resolve image|manifest unknown|pull access denied"
        r"|ErrImagePull|ImagePullBackOff",
        "image-pull",
        _INFRA,
        0.9,
        "The model image cannot be pulled",
        "Fix the image reference (tag, registry, pull secret).",
        "fix-image",
    ),
    pattern(
        "cuda-oom",
        r"CUDA out of memory|cuda\w*\.OutOfMemoryError|CUDA error: out of memory"
        r"|cudaErrorMemoryAllocation|RESOURCE_EXHAUSTED: OOM when allocating"
        r"|CUBLAS_STATUS_ALLOC_FAILED|CUDA failure \d+: out of memory|CUDA_ERROR_OUT_OF_MEMORY"
        r"|cudaMalloc\w* .{0,60}out of memory|larger than the maximum number of tokens that can be"
        r" stored in KV cache|No available memory for the cache blocks",
        "gpu-memory",
        _INFRA,
        0.85,
        "The model runs out of GPU memory (CUDA out of memory)",
        "Lower the batch size or max tokens, or give the model a GPU with more memory.",
    ),
    pattern(
        "gpu-error",
        r"no CUDA-capable device|CUDA driver version is insufficient|NVIDIA-SMI has failed"
        r"|CUDA error: (?!out of memory)[\w ]+|Xid \d+|nvidia-container-cli"
        r"|uncorrectable ECC error|ECC errors?|GPU has fallen off the bus|GPU is lost",
        "gpu-memory",
        _INFRA,
        0.75,
        "The model cannot use its GPU (driver or device error)",
        "Check the node's GPU and driver (nvidia-smi, device plugin) and the pod's GPU request.",
    ),
    pattern(
        "storage-fetch",
        r"Failed to fetch model|No model found in|Unable to locate credentials|NoCredentialsError"
        r"|An error occurred \((?:403|404|AccessDenied|NoSuchBucket|NoSuchKey|InvalidAccessKeyId"
        r"|SignatureDoesNotMatch|ExpiredToken)\)|The specified (?:bucket|key) does not exist"
        r"|google\.api_core\.exceptions\.(?:Forbidden|NotFound)|ResourceNotFoundError"
        r"|storage-initializer.*(?:denied|not found|failed)"
        r"|couldn't connect to 'https://huggingface\.co'|Repository Not Found for url"
        r"|401 Client Error.{0,80}huggingface|Can't load (?:tokenizer|the model) for",
        "storage",
        _INFRA,
        0.85,
        "The model cannot be downloaded from its storage",
        "Check the storageUri exists and the service account's storage credentials can read it.",
        "fix-config",
    ),
    pattern(
        "feature-count",
        r"X has (?P<got>\d+) features?, but \w+ is expecting (?P<want>\d+)"
        r"|expected (?:input )?shape|shapes? \(?[\d, ]+\)? (?:and|vs\.?) \(?[\d, ]+\)? not aligned"
        r"|Got invalid dimensions for input|unexpected shape for input|size mismatch for input"
        r"|Feature shape mismatch|feature_names mismatch|feature names should match",
        "input-schema",
        _DATA,
        0.8,
        "Requests do not match the model's input schema (feature count or shape)",
        "Check what the callers send against the model's schema: the upstream producer "
        "changed the data. Fix the producer or retrain on the new schema; do not roll back.",
        "fix-data",
    ),
    pattern(
        "input-field",
        # An all-capitals key is an environment variable: a configuration fault, not data.
        r"KeyError: '(?P<feature>(?!(?-i:[A-Z][A-Z0-9_]+'))[\w.-]+)'"
        r"|missing (?:required )?(?:field|feature|column)s?[: ]+'?(?P<feature2>[\w.-]+)"
        r"|InvalidInput|could not convert string to float"
        r"|Input contains NaN|field required",
        "input-schema",
        _DATA,
        0.7,
        "Requests miss or garble an input field the model reads ({feature})",
        "Compare the request payloads with the fields the model reads: the upstream producer "
        "changed the data. Fix the producer or map the field; do not roll back.",
        "fix-data",
    ),
    pattern(
        "tls",
        r"x509: certificate|certificate verify failed|CERTIFICATE_VERIFY_FAILED"
        r"|certificate has expired|SSLError",
        "dependency",
        _INFRA,
        0.7,
        "TLS to a dependency fails (certificate)",
        "Check the dependency's certificate (expiry, CA bundle in the model's image).",
        "fix-dependency",
    ),
    pattern(
        "disk-full",
        r"No space left on device|ENOSPC|Disk quota exceeded",
        "storage",
        _INFRA,
        0.75,
        "The model runs out of disk (No space left on device)",
        "Give the model's volume room: emptyDir sizeLimit, ephemeral-storage request, or a PVC.",
        "fix-config",
    ),
    pattern(
        "rbac",
        r"is forbidden: User \"system:serviceaccount:[\w.-]+:[\w.-]+\" cannot",
        "config",
        _INFRA,
        0.7,
        "The model's service account lacks a permission it uses (RBAC)",
        "Grant the Role the model's service account needs, or stop the call.",
        "fix-config",
    ),
    pattern(
        "exec-format",
        r"exec format error|exec user process caused",
        "crash",
        _INFRA,
        0.8,
        "The image does not run on this node (built for another CPU architecture?)",
        "Build the image for the node's architecture (linux/amd64 or arm64) or pin the nodes.",
        "fix-image",
    ),
    pattern(
        "model-load",
        r"Failed to load model|ModelMissingError|UnpicklingError|Trying to unpickle estimator"
        r"|InconsistentVersionWarning|Error\(s\) in loading state_dict|SafetensorsError"
        r"|Unable to load weights|XGBoostError|Could not load model|model file .* (?:not found"
        r"|corrupt)|No such file or directory: '?/mnt/models|Load model failed"
        r"|failed to load '[\w.-]+' version|UNAVAILABLE: Internal: unable to create"
        r"|poll failed with error: Internal: failed to load",
        "model-load",
        _INFRA,
        0.8,
        "The model file does not load in the serving runtime",
        "Check the model artifact against the runtime's library versions and format.",
        "fix-config",
    ),
    pattern(
        "dependency-auth",
        rf"(?:{_endpoint(1)}.{{0,200}})?(?:password authentication failed|Access denied for user"
        r"|authentication failed for user|WRONGPASS|invalid username-password pair"
        r"|NOAUTH Authentication required)",
        "config",
        _INFRA,
        0.8,
        "A dependency refuses the model's credentials: {endpoint}",
        "Check the credentials the model uses for {endpoint}: a rotated password or Secret "
        "the running pods still hold (restart them once the Secret is right).",
        "fix-config",
    ),
    pattern(
        "dependency-timeout",
        rf"{_endpoint(1)}.{{0,200}}(?:timed? ?out|timeout expired|deadline exceeded)"
        rf"|(?:timed? ?out|deadline exceeded|ConnectTimeout|ReadTimeout).{{0,120}}{_endpoint(2)}",
        "dependency",
        _INFRA,
        0.75,
        "A dependency times out: {endpoint}",
        _DEP_ACTION,
        "fix-dependency",
    ),
    pattern(
        "dependency-refused",
        rf"{_endpoint(1)}.{{0,200}}(?:Connection refused|ECONNREFUSED|connection reset)"
        rf"|(?:Connection refused|ECONNREFUSED).{{0,120}}{_endpoint(2)}",
        "dependency",
        _INFRA,
        0.8,
        "A dependency refuses connections (connection refused): {endpoint}",
        _DEP_ACTION,
        "fix-dependency",
    ),
    pattern(
        "dependency-dns",
        r"(?:lookup (?P<host1>[a-z][\w.-]*).{0,40}?)?"
        r"(?:Name or service not known|Temporary failure in name resolution|no such host"
        r"|NXDOMAIN|getaddrinfo failed|could not translate host name)"
        r"(?:.{0,80}?\"?(?<![/\w.-])(?P<host2>[a-z][\w-]*(?:\.[a-z][\w-]*)+)\b(?![/.])\"?)?",
        "dependency",
        _INFRA,
        0.75,
        "A dependency's name does not resolve: {endpoint}",
        "Check the host name the model calls {endpoint} and the cluster DNS.",
        "fix-dependency",
    ),
    pattern(
        "dependency-generic",
        r"Connection refused|ECONNREFUSED|OperationalError: could not connect"
        r"|redis\.exceptions\.ConnectionError|ServiceUnavailable|UNAVAILABLE: failed to connect",
        "dependency",
        _INFRA,
        0.65,
        "A dependency is unreachable",
        "Find which backend the model calls (feature store, database, cache) and check it.",
        "fix-dependency",
    ),
    pattern(
        "process-oom",
        r"\bMemoryError\b|std::bad_alloc|Cannot allocate memory|^Killed$",
        "oom",
        _INFRA,
        0.6,
        "The model process runs out of memory",
        "Raise the memory limit of the model container or shrink what it loads.",
        "raise-memory",
    ),
    pattern(
        "config-env",
        r"environment variable [\w'\"]+ (?:is )?not set|KeyError: '(?-i:[A-Z][A-Z0-9_]{2,})'"
        r"|missing required (?:environment|configuration|setting)|Address already in use"
        r"|Too many open files"
        r"|unrecognized arguments|error: argument|invalid choice|No such option"
        r"|PermissionError: \[Errno 13\]",
        "config",
        _INFRA,
        0.6,
        "The model container's configuration is wrong or missing",
        "Check the container's env, mounted files and permissions against what it expects.",
        "fix-config",
    ),
    pattern(
        "code-error",
        r"\b(?:AttributeError|TypeError|NameError|ImportError|ModuleNotFoundError|IndexError"
        r"|ZeroDivisionError|AssertionError|NotImplementedError|RecursionError"
        r"|UnboundLocalError)\b",
        "code",
        _INFRA,
        0.45,
        "The model server's code raises errors",
        "Read the traceback and fix the model server's code.",
    ),
)


def match_line(
    line: str, patterns: tuple[LogPattern, ...] = CATALOGUE
) -> tuple[LogPattern, re.Match[str]] | None:
    """The first pattern that matches the line, with its match."""
    for candidate in patterns:
        found = candidate.regex.search(line)
        if found:
            return candidate, found
    return None
