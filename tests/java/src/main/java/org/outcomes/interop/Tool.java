package org.outcomes.interop;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.avro.generic.GenericArray;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java side of the interop tests: a Java Kafka client with Apicurio Registry's Avro serdes,
 * writing and reading the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 * binary), the ids being Apicurio content ids (those of its /apis/ccompat/v7 API).
 *
 * <pre>
 * java -cp outcomes-interop.jar org.outcomes.interop.Tool consume --brokers B --topic T \
 *     --registry URL --count N [--timeout-ms MS] [--group G]
 * java -cp outcomes-interop.jar org.outcomes.interop.Tool produce --brokers B --topic T \
 *     --registry URL --schema FILE.avsc  &lt; records.jsonl
 * </pre>
 *
 * <p>URL is the registry's Confluent-compatible URL (OUTCOMES_SCHEMA_REGISTRY_URL,
 * http://HOST:PORT/apis/ccompat/v7), its core API (http://HOST:PORT/apis/registry/v3) or its base
 * (http://HOST:PORT); the serdes are given the core API, derived from it (or --registry-api URL).
 *
 * <p>consume prints one JSON object a record on stdout: {"partition":P,"offset":O,"key_hex":"..",
 * "value":{...},"schema_id":ID}. produce reads JSON Lines {"key_hex":"..","value":{...}} and prints
 * {"partition":P,"offset":O,"key_hex":".."} a record once all are acknowledged.
 *
 * <p>Exit status: 0 done; 1 failure (message on stderr); 2 usage; 3 consume timed out with fewer
 * than N records.
 */
public final class Tool {

  static final int EXIT_OK = 0;
  static final int EXIT_FAIL = 1;
  static final int EXIT_USAGE = 2;
  static final int EXIT_TIMEOUT = 3;

  private static final String USAGE =
      String.join(
          "\n",
          "usage: Tool consume --brokers B --topic T --registry URL --count N [--timeout-ms MS]",
          "                    [--group G] [--registry-api URL]",
          "       Tool produce --brokers B --topic T --registry URL --schema FILE.avsc",
          "                    [--timeout-ms MS] [--registry-api URL]   < records.jsonl",
          "",
          "  --registry URL      http://HOST:PORT/apis/ccompat/v7 (OUTCOMES_SCHEMA_REGISTRY_URL),",
          "                      .../apis/registry/v3 or http://HOST:PORT",
          "  --registry-api URL  the core API for the serdes (default: derived from --registry)",
          "  consume: a fresh consumer group (or --group) from the earliest offsets; one JSON",
          "           object a record on stdout; stops after N records, or exits 3 after MS ms",
          "           (default 30000) with fewer",
          "  produce: JSON Lines on stdin, {\"key_hex\":\"..\",\"value\":{...}}; the schema is",
          "           registered under TOPIC-value; acks=all; exit 0 when all are acknowledged");

  /** A failure to report on stderr with an exit status. */
  static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    Failure(int status, String message) {
      super(message);
      this.status = status;
    }

    Failure(int status, String message, Throwable cause) {
      super(message, cause);
      this.status = status;
    }
  }

  private Tool() {}

  /** Kept, so that the level set on it stays (java.util.logging holds loggers weakly). */
  private static final java.util.logging.Logger VERTX_NOTICE =
      java.util.logging.Logger.getLogger("io.apicurio.registry.client.common.DefaultVertxInstance");

  public static void main(String[] args) {
    // Its one-time notice about the shared Vert.x instance is not for a command-line tool.
    VERTX_NOTICE.setLevel(java.util.logging.Level.SEVERE);
    int status;
    try {
      status = run(args);
    } catch (Failure f) {
      System.err.println("interop: " + f.getMessage());
      if (f.status == EXIT_USAGE) {
        System.err.println(USAGE);
      }
      status = f.status;
    } catch (Exception e) {
      System.err.println("interop: error: " + describe(e));
      status = EXIT_FAIL;
    }
    System.out.flush();
    System.err.flush();
    // The registry client's Vert.x threads must not keep the JVM alive.
    System.exit(status);
  }

  static int run(String[] args) throws Exception {
    if (args.length == 0) {
      throw new Failure(EXIT_USAGE, "no subcommand");
    }
    String cmd = args[0];
    if (cmd.equals("-h") || cmd.equals("--help") || cmd.equals("help")) {
      System.out.println(USAGE);
      return EXIT_OK;
    }
    Map<String, String> opts = parseOptions(args);
    switch (cmd) {
      case "consume":
        return consume(opts);
      case "produce":
        return produce(opts);
      default:
        throw new Failure(EXIT_USAGE, "unknown subcommand '" + cmd + "'");
    }
  }

  static Map<String, String> parseOptions(String[] args) throws Failure {
    Map<String, String> opts = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new Failure(EXIT_USAGE, "unexpected argument '" + a + "'");
      }
      String name;
      String value;
      int eq = a.indexOf('=');
      if (eq > 0) {
        name = a.substring(2, eq);
        value = a.substring(eq + 1);
      } else {
        if (i + 1 >= args.length) {
          throw new Failure(EXIT_USAGE, "option " + a + " needs a value");
        }
        name = a.substring(2);
        value = args[++i];
      }
      if (opts.put(name, value) != null) {
        throw new Failure(EXIT_USAGE, "option --" + name + " given twice");
      }
    }
    return opts;
  }

  static String need(Map<String, String> opts, String name) throws Failure {
    String v = opts.remove(name);
    if (v == null || v.isEmpty()) {
      throw new Failure(EXIT_USAGE, "missing --" + name);
    }
    return v;
  }

  static long number(Map<String, String> opts, String name, long dflt, long min) throws Failure {
    String v = opts.remove(name);
    if (v == null) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v);
      if (n < min) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new Failure(EXIT_USAGE, "--" + name + " must be an integer >= " + min + ", not '" + v + "'");
    }
  }

  static void noMore(Map<String, String> opts) throws Failure {
    if (!opts.isEmpty()) {
      throw new Failure(EXIT_USAGE, "unknown option --" + opts.keySet().iterator().next());
    }
  }

  /**
   * The registry's core API (what the Apicurio serdes want in apicurio.registry.url) from the
   * Confluent-compatible URL, the core API URL or the base URL.
   */
  static String coreApiUrl(String url) {
    String u = url.replaceAll("/+$", "");
    if (u.matches(".*/apis/registry/v[0-9]+")) {
      return u;
    }
    if (u.matches(".*/apis/ccompat/v[0-9]+")) {
      return u.replaceAll("/apis/ccompat/v[0-9]+$", "/apis/registry/v3");
    }
    return u + "/apis/registry/v3";
  }

  /**
   * The Apicurio serde settings, the same for the serializer and the deserializer. In 3.1.7 the
   * id handler and use-id below are the defaults; they are set so that a change of default cannot
   * change the wire format silently.
   */
  static Map<String, Object> serdeConfig(String registryApi) {
    Map<String, Object> c = new HashMap<>();
    c.put("apicurio.registry.url", registryApi);
    // Confluent framing: magic byte 0, then the id as 4 bytes, big-endian...
    c.put("apicurio.registry.id-handler", "io.apicurio.registry.serde.Default4ByteIdHandler");
    // ... and the id is the content id, which /apis/ccompat/v7 calls the schema id.
    c.put("apicurio.registry.use-id", "contentId");
    // The id in the payload, not in Kafka headers.
    c.put("apicurio.registry.headers.enabled", false);
    // Subject (artifact) TOPIC-value, group "default": Confluent's TopicNameStrategy.
    c.put(
        "apicurio.registry.artifact-resolver-strategy",
        "io.apicurio.registry.serde.strategy.TopicIdStrategy");
    c.put("apicurio.registry.avro.encoding", "BINARY");
    // Register (and fetch) whole schemas, as Confluent's serializer does. Without it the 3.1.7
    // serializer registers every named type nested in the record (an enum such as
    // org.outcomes.Grain, a nested record) as a subject of its own and the record's schema with
    // references to them: /schemas/ids/ID then returns {"grain":"Grain"} and a "references"
    // list, which a reader that does not resolve references (avro-c) cannot parse.
    c.put("apicurio.registry.dereference-schema", true);
    return c;
  }

  // ---------------------------------------------------------------- consume

  static int consume(Map<String, String> opts) throws Exception {
    String brokers = need(opts, "brokers");
    String topic = need(opts, "topic");
    String registry = need(opts, "registry");
    String api = opts.containsKey("registry-api") ? need(opts, "registry-api") : coreApiUrl(registry);
    long count = number(opts, "count", -1, 1);
    if (count < 0) {
      throw new Failure(EXIT_USAGE, "missing --count");
    }
    long timeoutMs = number(opts, "timeout-ms", 30000, 0);
    String group = opts.containsKey("group") ? need(opts, "group") : "outcomes-interop-" + UUID.randomUUID();
    noMore(opts);

    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "outcomes-interop-consume");
    // Raw values: the schema id is read from the frame, then the bytes go to the Avro
    // deserializer exactly as KafkaConsumer would pass them.
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());

    PrintWriter out = stdout();
    long got = 0;
    long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
    try (AvroKafkaDeserializer<Object> avro = new AvroKafkaDeserializer<>();
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      avro.configure(serdeConfig(api), false);
      consumer.subscribe(List.of(topic));
      while (got < count) {
        long left = (deadline - System.nanoTime()) / 1_000_000L;
        if (left <= 0) {
          break;
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(Math.min(left, 500)));
        for (ConsumerRecord<byte[], byte[]> r : records) {
          StringBuilder sb = new StringBuilder(256);
          sb.append("{\"partition\":").append(r.partition());
          sb.append(",\"offset\":").append(r.offset());
          sb.append(",\"key_hex\":");
          if (r.key() == null) {
            sb.append("null");
          } else {
            sb.append('"').append(hex(r.key())).append('"');
          }
          byte[] v = r.value();
          Object value;
          try {
            value = v == null ? null : avro.deserialize(r.topic(), r.headers(), v);
          } catch (RuntimeException e) {
            throw new Failure(
                EXIT_FAIL,
                "partition " + r.partition() + " offset " + r.offset() + ": cannot deserialize "
                    + (v == null ? 0 : v.length) + " bytes: " + describe(e),
                e);
          }
          sb.append(",\"value\":");
          writeJson(sb, value);
          if (v != null && v.length >= 5 && v[0] == 0) {
            sb.append(",\"schema_id\":").append(ByteBuffer.wrap(v, 1, 4).getInt());
          }
          sb.append('}');
          out.println(sb);
          out.flush();
          if (++got == count) {
            break;
          }
        }
      }
    }
    if (got < count) {
      System.err.println(
          "interop: consume: timed out after " + timeoutMs + " ms with " + got + " of " + count
              + " records from " + topic);
      return EXIT_TIMEOUT;
    }
    return EXIT_OK;
  }

  static PrintWriter stdout() {
    return new PrintWriter(
        new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), false);
  }

  static final char[] HEX = "0123456789abcdef".toCharArray();

  static String hex(byte[] b) {
    char[] c = new char[b.length * 2];
    for (int i = 0; i < b.length; i++) {
      c[2 * i] = HEX[(b[i] >> 4) & 0xf];
      c[2 * i + 1] = HEX[b[i] & 0xf];
    }
    return new String(c);
  }

  static String hex(ByteBuffer bb) {
    ByteBuffer d = bb.duplicate();
    byte[] b = new byte[d.remaining()];
    d.get(b);
    return hex(b);
  }

  /**
   * An Avro generic datum as JSON: records as objects in schema order, strings as JSON strings
   * (non-ASCII kept), enum symbols as strings, ints and longs as numbers (logical types as their
   * underlying number: a date is days since 1970-01-01, a timestamp-micros microseconds), doubles
   * by Double.toString (round-trips; NaN and the infinities, which JSON lacks, as the strings
   * "NaN", "Infinity", "-Infinity"), bytes and fixed as lower-case hex strings.
   */
  static void writeJson(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof GenericRecord) {
      GenericRecord rec = (GenericRecord) v;
      sb.append('{');
      boolean first = true;
      for (Schema.Field f : rec.getSchema().getFields()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeString(sb, f.name());
        sb.append(':');
        writeJson(sb, rec.get(f.pos()));
      }
      sb.append('}');
    } else if (v instanceof CharSequence) {
      writeString(sb, v.toString());
    } else if (v instanceof GenericEnumSymbol) {
      writeString(sb, v.toString());
    } else if (v instanceof Double) {
      writeDouble(sb, (Double) v);
    } else if (v instanceof Float) {
      // The float's exact value, as a double.
      writeDouble(sb, ((Float) v).doubleValue());
    } else if (v instanceof Integer || v instanceof Long || v instanceof Boolean) {
      sb.append(v);
    } else if (v instanceof ByteBuffer) {
      sb.append('"').append(hex((ByteBuffer) v)).append('"');
    } else if (v instanceof GenericFixed) {
      sb.append('"').append(hex(((GenericFixed) v).bytes())).append('"');
    } else if (v instanceof Map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeString(sb, String.valueOf(e.getKey()));
        sb.append(':');
        writeJson(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof GenericArray || v instanceof List) {
      sb.append('[');
      boolean first = true;
      for (Object o : (List<?>) v) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeJson(sb, o);
      }
      sb.append(']');
    } else {
      // Logical-type conversions are not enabled, so nothing else is expected.
      writeString(sb, v.toString());
    }
  }

  static void writeDouble(StringBuilder sb, double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      sb.append('"').append(d).append('"');
    } else {
      sb.append(d);
    }
  }

  /** A JSON string: quote, backslash and control characters escaped, the rest as is. */
  static void writeString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        case '\b':
          sb.append("\\b");
          break;
        case '\f':
          sb.append("\\f");
          break;
        default:
          if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029'
              || (Character.isSurrogate(c) && !validSurrogateAt(s, i))) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  /** s[i] is half of a well-formed surrogate pair (else it cannot be written as UTF-8). */
  static boolean validSurrogateAt(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
    }
    return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
  }

  // ---------------------------------------------------------------- produce

  /** One input line, converted. */
  static final class Input {
    final int line;
    final byte[] key;
    final GenericRecord value;

    Input(int line, byte[] key, GenericRecord value) {
      this.line = line;
      this.key = key;
      this.value = value;
    }
  }

  static int produce(Map<String, String> opts) throws Exception {
    String brokers = need(opts, "brokers");
    String topic = need(opts, "topic");
    String registry = need(opts, "registry");
    String api = opts.containsKey("registry-api") ? need(opts, "registry-api") : coreApiUrl(registry);
    String schemaFile = need(opts, "schema");
    long timeoutMs = number(opts, "timeout-ms", 30000, 1000);
    noMore(opts);

    Schema schema;
    try {
      schema = new Schema.Parser().parse(new File(schemaFile));
    } catch (IOException | SchemaParseException e) {
      throw new Failure(EXIT_FAIL, schemaFile + ": " + describe(e), e);
    }
    if (schema.getType() != Schema.Type.RECORD) {
      throw new Failure(EXIT_FAIL, schemaFile + ": not a record schema");
    }

    // Read and convert every line first: a bad line sends nothing.
    List<Input> inputs = new ArrayList<>();
    ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String text;
      int line = 0;
      while ((text = in.readLine()) != null) {
        line++;
        if (text.isBlank()) {
          continue;
        }
        String where = "stdin:" + line;
        JsonNode node;
        try {
          node = json.readTree(text);
        } catch (JsonProcessingException e) {
          throw new Failure(EXIT_FAIL, where + ": not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
          throw new Failure(EXIT_FAIL, where + ": not a JSON object");
        }
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
          String n = names.next();
          if (!n.equals("key_hex") && !n.equals("value")) {
            throw new Failure(EXIT_FAIL, where + ": unknown member '" + n + "' (key_hex, value)");
          }
        }
        byte[] key = null;
        JsonNode k = node.get("key_hex");
        if (k != null && !k.isNull()) {
          if (!k.isTextual()) {
            throw new Failure(EXIT_FAIL, where + ": key_hex: not a string");
          }
          key = unhex(k.asText(), where + ": key_hex");
        }
        JsonNode v = node.get("value");
        if (v == null || !v.isObject()) {
          throw new Failure(EXIT_FAIL, where + ": value: missing or not an object");
        }
        GenericRecord rec;
        try {
          rec = (GenericRecord) toAvro(schema, v, "value");
        } catch (IllegalArgumentException e) {
          throw new Failure(EXIT_FAIL, where + ": " + e.getMessage());
        }
        inputs.add(new Input(line, key, rec));
      }
    }

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "outcomes-interop-produce");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroKafkaSerializer.class.getName());
    // No partitioner.class: the default one, murmur2 of the key bytes for keyed records.
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Math.min(timeoutMs, Integer.MAX_VALUE));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeoutMs / 2, Integer.MAX_VALUE));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Math.min(timeoutMs, Integer.MAX_VALUE));
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    p.putAll(serdeConfig(api));
    // Register the record's schema under TOPIC-value when it is not there (a new version when
    // the subject exists: the registry's compatibility rule decides).
    p.put("apicurio.registry.auto-register", true);
    p.put("apicurio.registry.auto-register.if-exists", "FIND_OR_CREATE_VERSION");

    List<Future<RecordMetadata>> acks = new ArrayList<>();
    try (KafkaProducer<byte[], Object> producer = new KafkaProducer<>(p)) {
      for (Input in : inputs) {
        try {
          acks.add(producer.send(new ProducerRecord<>(topic, in.key, in.value)));
        } catch (RuntimeException e) {
          throw new Failure(EXIT_FAIL, "stdin:" + in.line + ": not sent: " + describe(e), e);
        }
      }
      producer.flush();
      PrintWriter out = stdout();
      for (int i = 0; i < acks.size(); i++) {
        Input in = inputs.get(i);
        RecordMetadata md;
        try {
          md = acks.get(i).get();
        } catch (ExecutionException e) {
          throw new Failure(
              EXIT_FAIL, "stdin:" + in.line + ": not acknowledged: " + describe(e.getCause()), e);
        }
        StringBuilder sb = new StringBuilder(96);
        sb.append("{\"partition\":").append(md.partition());
        sb.append(",\"offset\":").append(md.offset());
        sb.append(",\"key_hex\":");
        if (in.key == null) {
          sb.append("null");
        } else {
          sb.append('"').append(hex(in.key)).append('"');
        }
        sb.append('}');
        out.println(sb);
      }
      out.flush();
    }
    System.err.println("interop: produce: " + inputs.size() + " records acknowledged by " + topic);
    return EXIT_OK;
  }

  static byte[] unhex(String s, String where) throws Failure {
    if (s.length() % 2 != 0) {
      throw new Failure(EXIT_FAIL, where + ": odd number of hex digits");
    }
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) {
      int hi = Character.digit(s.charAt(2 * i), 16);
      int lo = Character.digit(s.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) {
        throw new Failure(EXIT_FAIL, where + ": not hex: '" + s + "'");
      }
      b[i] = (byte) ((hi << 4) | lo);
    }
    return b;
  }

  /**
   * A JSON value as the Avro generic datum of SCHEMA. Unions take JSON null for their null branch,
   * else the first other branch the value converts to; enums a symbol; int (date: also
   * "YYYY-MM-DD") and long (timestamp-micros/millis: also an RFC 3339 string) integral numbers;
   * double and float any number (or "NaN", "Infinity", "-Infinity"); bytes and fixed hex strings.
   * A record's members absent from the JSON take the field's default; unknown ones are an error.
   * Throws IllegalArgumentException naming PATH.
   */
  static Object toAvro(Schema schema, JsonNode v, String path) {
    switch (schema.getType()) {
      case NULL:
        if (v == null || v.isNull()) {
          return null;
        }
        throw bad(path, "expected null", v);
      case UNION: {
        if (v == null || v.isNull()) {
          for (Schema b : schema.getTypes()) {
            if (b.getType() == Schema.Type.NULL) {
              return null;
            }
          }
          throw bad(path, "null is not in the union " + schema, v);
        }
        IllegalArgumentException last = null;
        for (Schema b : schema.getTypes()) {
          if (b.getType() == Schema.Type.NULL) {
            continue;
          }
          try {
            return toAvro(b, v, path);
          } catch (IllegalArgumentException e) {
            last = e;
          }
        }
        throw last != null ? last : bad(path, "no branch of " + schema + " fits", v);
      }
      case STRING:
        if (v != null && v.isTextual()) {
          return v.asText();
        }
        throw bad(path, "expected a string", v);
      case ENUM:
        if (v != null && v.isTextual() && schema.hasEnumSymbol(v.asText())) {
          return new GenericData.EnumSymbol(schema, v.asText());
        }
        throw bad(path, "expected one of " + schema.getEnumSymbols(), v);
      case BOOLEAN:
        if (v != null && v.isBoolean()) {
          return v.booleanValue();
        }
        throw bad(path, "expected true or false", v);
      case INT: {
        LogicalType lt = schema.getLogicalType();
        if (v != null && v.isTextual() && lt instanceof LogicalTypes.Date) {
          try {
            return Math.toIntExact(LocalDate.parse(v.asText()).toEpochDay());
          } catch (DateTimeParseException | ArithmeticException e) {
            throw bad(path, "expected a date YYYY-MM-DD or a day number", v);
          }
        }
        if (v != null && v.isIntegralNumber() && v.canConvertToInt()) {
          return v.intValue();
        }
        throw bad(path, "expected an int", v);
      }
      case LONG: {
        LogicalType lt = schema.getLogicalType();
        if (v != null && v.isTextual()
            && (lt instanceof LogicalTypes.TimestampMicros || lt instanceof LogicalTypes.TimestampMillis)) {
          try {
            Instant t = Instant.parse(v.asText());
            if (lt instanceof LogicalTypes.TimestampMillis) {
              return t.toEpochMilli();
            }
            return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
          } catch (DateTimeParseException | ArithmeticException e) {
            throw bad(path, "expected an RFC 3339 time (…Z) or a number", v);
          }
        }
        if (v != null && v.isIntegralNumber() && v.canConvertToLong()) {
          return v.longValue();
        }
        throw bad(path, "expected a long", v);
      }
      case DOUBLE:
        if (v != null && v.isNumber()) {
          return v.doubleValue();
        }
        if (v != null && v.isTextual()) {
          Double d = special(v.asText());
          if (d != null) {
            return d;
          }
        }
        throw bad(path, "expected a number", v);
      case FLOAT:
        if (v != null && v.isNumber()) {
          return v.floatValue();
        }
        if (v != null && v.isTextual()) {
          Double d = special(v.asText());
          if (d != null) {
            return d.floatValue();
          }
        }
        throw bad(path, "expected a number", v);
      case BYTES:
        if (v != null && v.isTextual()) {
          try {
            return ByteBuffer.wrap(unhex(v.asText(), path));
          } catch (Failure f) {
            throw new IllegalArgumentException(f.getMessage());
          }
        }
        throw bad(path, "expected a hex string", v);
      case FIXED:
        if (v != null && v.isTextual()) {
          byte[] b;
          try {
            b = unhex(v.asText(), path);
          } catch (Failure f) {
            throw new IllegalArgumentException(f.getMessage());
          }
          if (b.length != schema.getFixedSize()) {
            throw bad(path, "expected " + schema.getFixedSize() + " bytes", v);
          }
          return new GenericData.Fixed(schema, b);
        }
        throw bad(path, "expected a hex string", v);
      case ARRAY: {
        if (v == null || !v.isArray()) {
          throw bad(path, "expected an array", v);
        }
        List<Object> list = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
          list.add(toAvro(schema.getElementType(), v.get(i), path + "[" + i + "]"));
        }
        return new GenericData.Array<>(schema, list);
      }
      case MAP: {
        if (v == null || !v.isObject()) {
          throw bad(path, "expected an object", v);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
          m.put(e.getKey(), toAvro(schema.getValueType(), e.getValue(), path + "." + e.getKey()));
        }
        return m;
      }
      case RECORD: {
        if (v == null || !v.isObject()) {
          throw bad(path, "expected an object", v);
        }
        Iterator<String> names = v.fieldNames();
        while (names.hasNext()) {
          String n = names.next();
          if (schema.getField(n) == null) {
            throw new IllegalArgumentException(
                path + "." + n + ": no such field in " + schema.getFullName());
          }
        }
        GenericData.Record rec = new GenericData.Record(schema);
        for (Schema.Field f : schema.getFields()) {
          JsonNode fv = v.get(f.name());
          if (fv == null) {
            if (!f.hasDefaultValue()) {
              throw new IllegalArgumentException(path + "." + f.name() + ": missing (no default)");
            }
            rec.put(f.pos(), GenericData.get().deepCopy(f.schema(), GenericData.get().getDefaultValue(f)));
          } else {
            rec.put(f.pos(), toAvro(f.schema(), fv, path + "." + f.name()));
          }
        }
        return rec;
      }
      default:
        throw new IllegalArgumentException(path + ": unsupported Avro type " + schema.getType());
    }
  }

  static Double special(String s) {
    switch (s) {
      case "NaN":
        return Double.NaN;
      case "Infinity":
        return Double.POSITIVE_INFINITY;
      case "-Infinity":
        return Double.NEGATIVE_INFINITY;
      default:
        return null;
    }
  }

  static IllegalArgumentException bad(String path, String what, JsonNode v) {
    return new IllegalArgumentException(path + ": " + what + ", got " + (v == null ? "nothing" : v.toString()));
  }

  /** An exception and its causes, one line. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    Throwable t = e;
    int depth = 0;
    while (t != null && depth < 6) {
      if (depth > 0) {
        sb.append(": ");
      }
      String m = t.getMessage();
      if (t instanceof io.apicurio.registry.rest.client.models.ProblemDetails) {
        // The registry's error answer (e.g. 409 when a compatibility rule rejects a schema).
        io.apicurio.registry.rest.client.models.ProblemDetails pd =
            (io.apicurio.registry.rest.client.models.ProblemDetails) t;
        String title = pd.getTitle() == null ? "" : pd.getTitle();
        String detail = pd.getDetail() == null ? "" : pd.getDetail();
        m = "registry answered HTTP " + pd.getStatus() + ": "
            + (detail.startsWith(title) && !detail.isEmpty() ? detail : title + " " + detail).trim();
      }
      sb.append(t.getClass().getSimpleName());
      if (m != null && !m.isEmpty()) {
        sb.append(" (").append(m.replace('\n', ' ')).append(')');
      }
      if (t.getCause() == t) {
        break;
      }
      t = t.getCause();
      depth++;
    }
    return sb.toString();
  }
}
