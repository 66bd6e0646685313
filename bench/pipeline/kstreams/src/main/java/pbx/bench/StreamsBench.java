package pbx.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams peer of `pbx run` in bench/pipeline: one of two topologies, exactly_once_v2, otherwise Kafka
 * Streams' defaults (one stream thread, its record cache, commits every 100 ms under exactly-once).
 *
 * <p>Usage: java -cp kstreams-bench.jar pbx.bench.StreamsBench filter-map|word-count BOOTSTRAP INPUT OUTPUT APP_ID
 *
 * <p>Like `pbx run --until-end`, it stops by itself once its group's committed offsets reach the ends its input had at
 * start (and then, for the word count, the ends of its repartition topic), and prints {"ms": ...} on stdout.
 */
public final class StreamsBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TEXT = "text";
  /** PBX_BENCH_DEBUG=1: the committed offsets and the ends awaited, once a second, on stderr. */
  private static final boolean DEBUG = System.getenv("PBX_BENCH_DEBUG") != null;
  private static int polls;

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: StreamsBench filter-map|word-count BOOTSTRAP INPUT OUTPUT APP_ID");
      System.exit(2);
    }
    String mode = args[0], bootstrap = args[1], input = args[2], output = args[3], appId = args[4];
    long started = System.nanoTime();
    Topology topology =
        switch (mode) {
          case "filter-map" -> filterMap(input, output);
          case "word-count" -> wordCount(input, output);
          default -> throw new IllegalArgumentException("unknown topology " + mode);
        };
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("kstreams-bench").toString());

    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      Map<TopicPartition, Long> inputEnds = endOffsets(admin, Set.of(input));
      AtomicReference<Throwable> failure = new AtomicReference<>();
      KafkaStreams streams = new KafkaStreams(topology, props);
      streams.setUncaughtExceptionHandler(
          error -> {
            failure.set(error);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
                .SHUTDOWN_CLIENT;
          });
      streams.start();
      // The input is not transactional (pbx replay): its end is the offset after its last record.
      awaitCommitted(admin, appId, inputEnds, false, failure);
      long inputDone = System.nanoTime();
      // Every repartition record was written in the transaction that committed the input offsets before it, so the
      // repartition topics' ends are final now. They are transactional: each ends with a commit marker.
      Set<String> repartition =
          admin.listTopics().names().get().stream()
              .filter(t -> t.startsWith(appId + "-") && t.endsWith("-repartition"))
              .collect(Collectors.toSet());
      if (!repartition.isEmpty())
        awaitCommitted(admin, appId, endOffsets(admin, repartition), true, failure);
      long allDone = System.nanoTime();
      streams.close(java.time.Duration.ofMinutes(1));
      long end = System.nanoTime();
      // Where the time went: to the input's offsets committed, to the repartition topic's, to the end of close().
      System.out.printf(
          "{\"ms\":%d,\"inputCommittedMs\":%d,\"allCommittedMs\":%d}%n",
          ms(end - started), ms(inputDone - started), ms(allDone - started));
    }
  }

  static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  /** reviews → filter (score >= 1) → map to {product_id, score, user_id} → output, keys kept. */
  static Topology filterMap(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .mapValues(StreamsBench::parse)
        .filter((key, review) -> review.get("score").asDouble() >= 1)
        .mapValues(
            review -> {
              ObjectNode projection = JSON.createObjectNode();
              projection.set("product_id", review.get("product_id"));
              projection.set("score", review.get("score"));
              projection.set("user_id", review.get("user_id"));
              return write(projection);
            })
        .to(output, Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  /** sentences → words → count per word → output as {"key": word, "count": n}, keyed by the word. */
  static Topology wordCount(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(value -> Arrays.asList(parse(value).get(TEXT).asText().split(" ")))
        .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .mapValues(
            (word, count) -> {
              ObjectNode result = JSON.createObjectNode();
              result.put("key", word);
              result.put("count", count);
              return write(result);
            })
        .to(output, Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  static JsonNode parse(String value) {
    try {
      return JSON.readTree(value);
    } catch (Exception error) {
      throw new IllegalArgumentException("not JSON: " + value, error);
    }
  }

  static String write(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (Exception error) {
      throw new IllegalStateException(error);
    }
  }

  static Map<TopicPartition, Long> endOffsets(Admin admin, Set<String> topics) throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    admin.describeTopics(topics).allTopicNames().get().forEach(
        (topic, description) ->
            description.partitions().forEach(p -> request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest())));
    Map<TopicPartition, Long> ends = new HashMap<>();
    admin.listOffsets(request).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
    return ends;
  }

  /**
   * Polls the group's committed offsets until each partition's reaches its end. A transactional topic's last offset is
   * a commit marker that a consumer never returns as a record: there, every record is processed at end - 1.
   */
  static void awaitCommitted(
      Admin admin, String group, Map<TopicPartition, Long> ends, boolean transactional, AtomicReference<Throwable> failure)
      throws Exception {
    while (true) {
      if (failure.get() != null) throw new IllegalStateException("Kafka Streams failed", failure.get());
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      boolean done = true;
      for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
        long needed = transactional ? end.getValue() - 1 : end.getValue();
        OffsetAndMetadata at = committed.get(end.getKey());
        if (needed > 0 && (at == null || at.offset() < needed)) done = false;
      }
      if (done) return;
      if (DEBUG && ++polls % 10 == 0) System.err.println("committed " + committed + " ends " + ends);
      Thread.sleep(100);
    }
  }
}
